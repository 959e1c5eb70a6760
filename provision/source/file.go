package source

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/csv"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/roster-scim/roster/provision"
)

// FileConfig configures a File source.
type FileConfig struct {
	// Path is the users file, CSV (.csv) or JSON Lines (.jsonl, .ndjson).
	Path string
	// Format is "csv" or "jsonl"; "" takes it from Path's extension.
	Format string
	// IDColumn is the users' anchor attribute; "" means "id".
	IDColumn string
	// GroupsColumn optionally names a column (CSV) or field (JSONL) that
	// lists the groups a user is a member of: in CSV separated by
	// Separator; in JSONL an array or a string separated by Separator.
	GroupsColumn string
	// GroupsPath optionally names a groups file, CSV or JSONL (format from
	// its extension, else Format): "id", "displayName" and "members" (the
	// members' IDs; in CSV separated by Separator), other columns become
	// attributes. GroupsColumn and GroupsPath exclude each other.
	GroupsPath string
	// Separator splits multi-valued CSV cells; "" means ";".
	Separator string
	// MultiValued names the CSV columns whose cells are lists separated
	// by Separator.
	MultiValued []string
}

// File is a source that reads users, and optionally groups, from files in
// the shape an HR system exports: one row per user. A file cannot tell
// what changed, so every Read reads it all and reports Full; the engine
// compares each object with what it imported last time.
//
// Read streams the file: it holds one row at a time, not the file. What it
// keeps for the whole Read is bounded by the number of IDs, not by the
// size of the rows: a set of the IDs seen, with the line each was first
// on, to refuse duplicates (about 100 bytes an ID, some 10 MB for 100,000
// users), and, with GroupsColumn, each group's member IDs, which it cannot
// emit before the last user has been read.
type File struct {
	cfg          FileConfig
	format       string
	groupsFormat string
	multi        map[string]bool // multi-valued columns of the users file
	groupsMulti  map[string]bool // multi-valued columns of the groups file
}

var _ provision.Source = (*File)(nil)

// NewFile returns a File source for cfg. It checks the configuration, not
// the files: they are opened by each Read, so that a job can be set up
// before the first export arrives.
func NewFile(cfg FileConfig) (*File, error) {
	if cfg.Path == "" {
		return nil, errors.New("file source: no users file given")
	}
	if cfg.GroupsColumn != "" && cfg.GroupsPath != "" {
		return nil, errors.New("file source: groups come either from a column of the users file or from a groups file, not both")
	}
	if cfg.IDColumn == "" {
		cfg.IDColumn = "id"
	}
	if cfg.Separator == "" {
		cfg.Separator = ";"
	}
	f := &File{cfg: cfg, multi: map[string]bool{}, groupsMulti: map[string]bool{"members": true}}
	var err error
	if f.format, err = fileFormat(cfg.Path, cfg.Format); err != nil {
		return nil, err
	}
	if cfg.GroupsPath != "" {
		// A groups file's own extension wins over Format, which is
		// mainly for a users file whose name says nothing.
		if f.groupsFormat, err = fileFormat(cfg.GroupsPath, ""); err != nil {
			if cfg.Format == "" {
				return nil, err
			}
			if f.groupsFormat, err = fileFormat(cfg.GroupsPath, cfg.Format); err != nil {
				return nil, err
			}
		}
	}
	for _, c := range cfg.MultiValued {
		f.multi[c] = true
		f.groupsMulti[c] = true
	}
	if cfg.GroupsColumn != "" {
		f.multi[cfg.GroupsColumn] = true
	}
	return f, nil
}

// fileFormat returns "csv" or "jsonl" for path: format when given, else
// from the extension.
func fileFormat(path, format string) (string, error) {
	switch strings.ToLower(format) {
	case "csv":
		return "csv", nil
	case "jsonl":
		return "jsonl", nil
	case "":
	default:
		return "", fmt.Errorf("file source: unknown format %q: use csv or jsonl", format)
	}
	switch strings.ToLower(filepath.Ext(path)) {
	case ".csv":
		return "csv", nil
	case ".jsonl", ".ndjson":
		return "jsonl", nil
	}
	return "", fmt.Errorf("file source: cannot tell the format of %s from its extension: name it .csv or .jsonl, or set the format", path)
}

// Read emits every user in the users file, in file order, then every
// group. since is ignored. The watermark is the hex SHA-256 of the users
// file, or with a groups file of the two files' hashes, so that it
// changes exactly when an export does.
//
// The engine infers deletions from the objects a Full read did not emit,
// so Read is all-or-nothing: a malformed row, a row without an ID or a
// duplicate ID fails the Read with the file and line, and no row is ever
// skipped. The rows emitted before such an error are valid; the engine
// deletes nothing after a failed Read.
func (f *File) Read(ctx context.Context, since string, emit func(provision.Object) error) (provision.ReadResult, error) {
	users, groups, err := f.readUsers(ctx, emit)
	if err != nil {
		return provision.ReadResult{}, err
	}
	if groups != nil {
		for _, name := range groups.order {
			o := provision.Object{
				Kind:    provision.Group,
				ID:      name,
				Attrs:   map[string]any{"displayName": name, "objectId": name},
				Members: groups.members[name],
			}
			if err := emit(o); err != nil {
				return provision.ReadResult{}, err
			}
		}
	}
	watermark := users
	if f.cfg.GroupsPath != "" {
		gh, err := f.readGroups(ctx, emit)
		if err != nil {
			return provision.ReadResult{}, err
		}
		sum := sha256.Sum256([]byte(users + "\n" + gh + "\n"))
		watermark = hex.EncodeToString(sum[:])
	}
	return provision.ReadResult{Watermark: watermark, Full: true}, nil
}

// groupIndex collects the groups named in the users file's GroupsColumn.
type groupIndex struct {
	order   []string            // group names, as first seen
	members map[string][]string // member user IDs by group name
}

func (g *groupIndex) add(userID string, names []string) {
	for i, name := range names {
		if slices.Contains(names[:i], name) {
			continue
		}
		ids, ok := g.members[name]
		if !ok {
			// name may share memory with the whole row; keep only it.
			name = strings.Clone(name)
			g.order = append(g.order, name)
		}
		g.members[name] = append(ids, userID)
	}
}

// readUsers streams the users file to emit and returns its hash and, with
// GroupsColumn, the groups it names.
func (f *File) readUsers(ctx context.Context, emit func(provision.Object) error) (string, *groupIndex, error) {
	var groups *groupIndex
	if f.cfg.GroupsColumn != "" {
		groups = &groupIndex{members: map[string][]string{}}
	}
	name := f.cfg.Path
	seen := map[string]int{} // ID → line it was first on
	sum, err := f.scanFile(ctx, name, f.format, f.cfg.IDColumn, f.multi, func(line int, attrs map[string]any) error {
		id, err := f.checkID(name, line, attrs, f.cfg.IDColumn, seen)
		if err != nil {
			return err
		}
		if v, ok := attrs["accountEnabled"]; ok {
			b, err := parseBool(v)
			if err != nil {
				return fmt.Errorf("%s line %d: accountEnabled: %v", name, line, err)
			}
			attrs["accountEnabled"] = b
		}
		if groups != nil {
			names, err := stringList(attrs[f.cfg.GroupsColumn], f.cfg.Separator)
			if err != nil {
				return fmt.Errorf("%s line %d: %s: %v", name, line, f.cfg.GroupsColumn, err)
			}
			groups.add(id, names)
		}
		return emit(provision.Object{Kind: provision.User, ID: id, Attrs: attrs})
	})
	return sum, groups, err
}

// readGroups streams the groups file to emit and returns its hash.
func (f *File) readGroups(ctx context.Context, emit func(provision.Object) error) (string, error) {
	name := f.cfg.GroupsPath
	seen := map[string]int{}
	return f.scanFile(ctx, name, f.groupsFormat, "id", f.groupsMulti, func(line int, attrs map[string]any) error {
		id, err := f.checkID(name, line, attrs, "id", seen)
		if err != nil {
			return err
		}
		members, err := stringList(attrs["members"], f.cfg.Separator)
		if err != nil {
			return fmt.Errorf("%s line %d: members: %v", name, line, err)
		}
		delete(attrs, "members")
		return emit(provision.Object{Kind: provision.Group, ID: id, Attrs: attrs, Members: dedupe(members)})
	})
}

// checkID returns a row's ID, refusing a missing or duplicate one, and
// gives the row an objectId when it has none.
func (f *File) checkID(name string, line int, attrs map[string]any, column string, seen map[string]int) (string, error) {
	var id string
	switch v := attrs[column].(type) {
	case string:
		id = v
	case json.Number:
		id = string(v)
	case nil:
	default:
		return "", fmt.Errorf("%s line %d: the id %q is a JSON %s, not a string or a number", name, line, column, jsonType(v))
	}
	if id == "" {
		return "", fmt.Errorf("%s line %d: no id: %q is empty or missing", name, line, column)
	}
	if first, ok := seen[id]; ok {
		return "", fmt.Errorf("%s line %d: duplicate id %q (first on line %d)", name, line, id, first)
	}
	// id may share memory with the whole row; the set keeps only the ID.
	id = strings.Clone(id)
	seen[id] = line
	if _, ok := attrs["objectId"]; !ok {
		attrs["objectId"] = id
	}
	return id, nil
}

// scanFile opens name and calls fn with each row and its line, hashing
// the file as it goes; it returns the hex SHA-256 of the whole file.
func (f *File) scanFile(ctx context.Context, name, format, idColumn string, multi map[string]bool, fn func(line int, attrs map[string]any) error) (string, error) {
	file, err := os.Open(name)
	if err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) {
			err = pe.Err // the message names the file already
		}
		return "", fmt.Errorf("file source: cannot read %s: %w", name, err)
	}
	defer file.Close()
	h := sha256.New()
	r := io.TeeReader(file, h)
	if format == "csv" {
		err = f.scanCSV(ctx, name, r, idColumn, multi, fn)
	} else {
		err = scanJSONL(ctx, name, r, fn)
	}
	if err != nil {
		return "", err
	}
	return finish(name, r, h)
}

// finish hashes whatever the parser left unread, so that the hash is the
// whole file's.
func finish(name string, r io.Reader, h hash.Hash) (string, error) {
	if _, err := io.Copy(io.Discard, r); err != nil {
		return "", fmt.Errorf("file source: reading %s: %w", name, err)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// scanCSV reads a CSV file whose header row names the attributes.
func (f *File) scanCSV(ctx context.Context, name string, r io.Reader, idColumn string, multi map[string]bool, fn func(int, map[string]any) error) error {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1 // counted here, to say it in plain words
	cr.ReuseRecord = true
	header, err := cr.Read()
	if err == io.EOF {
		return fmt.Errorf("%s is empty: it has no header row", name)
	}
	if err != nil {
		return csvError(name, err)
	}
	cols := make([]string, len(header))
	for i, h := range header {
		if i == 0 {
			h = strings.TrimPrefix(h, "\ufeff")
		}
		h = strings.TrimSpace(h)
		if h == "" {
			return fmt.Errorf("%s line 1: column %d of the header has no name", name, i+1)
		}
		if slices.Contains(cols[:i], h) {
			return fmt.Errorf("%s line 1: the header names %q twice", name, h)
		}
		cols[i] = h
	}
	if !slices.Contains(cols, idColumn) {
		return fmt.Errorf("%s has no %q column: its header names %s", name, idColumn, strings.Join(cols, ", "))
	}
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return csvError(name, err)
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		line, _ := cr.FieldPos(0)
		if len(rec) != len(cols) {
			return fmt.Errorf("%s line %d: %d values where the header names %d columns", name, line, len(rec), len(cols))
		}
		attrs := make(map[string]any, len(cols)+1)
		for i, v := range rec {
			switch {
			case v == "":
				// An empty cell is an absent attribute, not "".
			case multi[cols[i]]:
				if list := splitList(v, f.cfg.Separator); len(list) > 0 {
					attrs[cols[i]] = list
				}
			default:
				attrs[cols[i]] = v
			}
		}
		if err := fn(line, attrs); err != nil {
			return err
		}
	}
}

// csvError says what encoding/csv found wrong, with the line.
func csvError(name string, err error) error {
	var pe *csv.ParseError
	if !errors.As(err, &pe) {
		return fmt.Errorf("file source: reading %s: %w", name, err)
	}
	if pe.StartLine != pe.Line {
		return fmt.Errorf("%s line %d: %v (in the row that starts on line %d)", name, pe.Line, pe.Err, pe.StartLine)
	}
	return fmt.Errorf("%s line %d: %v", name, pe.Line, pe.Err)
}

// scanJSONL reads a JSON Lines file: one JSON object a line, blank lines
// skipped.
func scanJSONL(ctx context.Context, name string, r io.Reader, fn func(int, map[string]any) error) error {
	br := bufio.NewReader(r)
	for line := 1; ; line++ {
		b, err := br.ReadBytes('\n')
		if err != nil && err != io.EOF {
			return fmt.Errorf("file source: reading %s: %w", name, err)
		}
		if cerr := ctx.Err(); cerr != nil {
			return cerr
		}
		if line == 1 {
			b = bytes.TrimPrefix(b, []byte("\ufeff"))
		}
		if b = bytes.TrimSpace(b); len(b) > 0 {
			attrs, derr := decodeObject(b)
			if derr != nil {
				return fmt.Errorf("%s line %d: %v", name, line, derr)
			}
			if ferr := fn(line, attrs); ferr != nil {
				return ferr
			}
		}
		if err == io.EOF {
			return nil
		}
	}
}

// decodeObject decodes one JSON object, numbers as json.Number; a null
// attribute is an absent one.
func decodeObject(b []byte) (map[string]any, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, fmt.Errorf("not valid JSON: %v", err)
	}
	if dec.More() {
		return nil, errors.New("more than one JSON value on the line")
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("a JSON %s where an object is expected", jsonType(v))
	}
	for k, v := range m {
		if v == nil {
			delete(m, k)
		}
	}
	return m, nil
}

// splitList splits a multi-valued cell, trimming the values and dropping
// empty ones.
func splitList(s, sep string) []any {
	var list []any
	for _, v := range strings.Split(s, sep) {
		if v = strings.TrimSpace(v); v != "" {
			list = append(list, v)
		}
	}
	return list
}

// stringList reads a list of names or IDs: a list (a split CSV cell or a
// JSON array) of strings or numbers, or a string separated by sep.
func stringList(v any, sep string) ([]string, error) {
	switch v := v.(type) {
	case nil:
		return nil, nil
	case string:
		return stringList(splitList(v, sep), sep)
	case []any:
		out := make([]string, 0, len(v))
		for _, e := range v {
			switch e := e.(type) {
			case string:
				if e = strings.TrimSpace(e); e != "" {
					out = append(out, e)
				}
			case json.Number:
				out = append(out, string(e))
			case nil:
			default:
				return nil, fmt.Errorf("a JSON %s in the list, where a string is expected", jsonType(e))
			}
		}
		return out, nil
	}
	return nil, fmt.Errorf("a JSON %s, where a list or a string is expected", jsonType(v))
}

// parseBool reads accountEnabled: a JSON boolean, or true/false, 1/0 or
// yes/no in any case.
func parseBool(v any) (bool, error) {
	var s string
	switch v := v.(type) {
	case bool:
		return v, nil
	case string:
		s = v
	case json.Number:
		s = string(v)
	default:
		return false, fmt.Errorf("a JSON %s where true or false is expected", jsonType(v))
	}
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "true", "1", "yes":
		return true, nil
	case "false", "0", "no":
		return false, nil
	}
	return false, fmt.Errorf("%s is not true/false, 1/0 or yes/no", strconv.Quote(s))
}

// jsonType names the JSON type of a decoded value, for errors.
func jsonType(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case bool:
		return "boolean"
	case json.Number, float64:
		return "number"
	case string:
		return "string"
	case []any:
		return "array"
	case map[string]any:
		return "object"
	}
	return fmt.Sprintf("%T", v)
}

// dedupe drops repeated strings, keeping the first of each.
func dedupe(list []string) []string {
	if len(list) < 2 {
		return list
	}
	seen := make(map[string]bool, len(list))
	out := list[:0]
	for _, v := range list {
		if !seen[v] {
			seen[v] = true
			out = append(out, v)
		}
	}
	return out
}
