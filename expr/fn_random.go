package expr

import (
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"strings"
)

func init() {
	register(map[string]builtin{"RandomString": fnRandomString})
}

// The character classes of Windows password complexity, which the
// reference names as RandomString's alphabet.
const (
	randDigits  = "0123456789"
	randSpecial = "~!@#$%^&*_-+=`|\\(){}[]:;\"'<>,.?/"
	randUpper   = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	randLower   = "abcdefghijklmnopqrstuvwxyz"
)

// RandomString(Length, MinimumNumbers, MinimumSpecialCharacters,
// MinimumCapital, MinimumLowerCase, CharactersToAvoid): Length random
// characters (at most 256) with at least the given number of digits,
// special characters, capitals and lower-case letters, none of them in
// CharactersToAvoid; the rest drawn from all four classes, then shuffled.
// Randomness comes from Env.Rand.
func fnRandomString(ev *evaluator, c *Call) (Value, error) {
	n, err := ev.int(c, 0, "Length")
	if err != nil {
		return Null, err
	}
	names := []string{"MinimumNumbers", "MinimumSpecialCharacters", "MinimumCapital", "MinimumLowerCase"}
	var mins [4]int
	sum := 0
	for i := range mins {
		if mins[i], err = ev.int(c, i+1, names[i]); err != nil {
			return Null, err
		}
		if mins[i] < 0 {
			return Null, fmt.Errorf("%s %d is negative", names[i], mins[i])
		}
		sum += mins[i]
	}
	if n < 1 || n > 256 {
		return Null, fmt.Errorf("Length %d is not between 1 and 256", n)
	}
	if sum > n {
		return Null, fmt.Errorf("the minimums add up to %d, more than Length %d", sum, n)
	}
	avoid, err := ev.text(c, 5, "CharactersToAvoid")
	if err != nil {
		return Null, err
	}
	keep := func(set string) []rune {
		var out []rune
		for _, r := range set {
			if !strings.ContainsRune(avoid, r) {
				out = append(out, r)
			}
		}
		return out
	}
	classes := [4][]rune{keep(randDigits), keep(randSpecial), keep(randUpper), keep(randLower)}
	var all []rune
	for i, cl := range classes {
		if mins[i] > 0 && len(cl) == 0 {
			return Null, fmt.Errorf("%s is %d but CharactersToAvoid excludes the whole class", names[i], mins[i])
		}
		all = append(all, cl...)
	}
	if len(all) == 0 {
		return Null, errors.New("CharactersToAvoid excludes every character")
	}
	r := ev.env.Rand
	if r == nil {
		r = rand.Reader
	}
	pick := func(from []rune) (rune, error) {
		i, err := randIntn(r, len(from))
		return from[i%len(from)], err
	}
	out := make([]rune, 0, n)
	for i, cl := range classes {
		for range mins[i] {
			x, err := pick(cl)
			if err != nil {
				return Null, err
			}
			out = append(out, x)
		}
	}
	for len(out) < n {
		x, err := pick(all)
		if err != nil {
			return Null, err
		}
		out = append(out, x)
	}
	for i := len(out) - 1; i > 0; i-- {
		j, err := randIntn(r, i+1)
		if err != nil {
			return Null, err
		}
		out[i], out[j] = out[j], out[i]
	}
	return String(string(out)), nil
}

// randIntn returns a uniform integer in [0, n) read from r.
func randIntn(r io.Reader, n int) (int, error) {
	limit := uint32(1<<32 - (1<<32)%uint64(n)) // largest multiple of n; 0 means 2^32
	var b [4]byte
	for tries := 0; tries < 64; tries++ {
		if _, err := io.ReadFull(r, b[:]); err != nil {
			return 0, fmt.Errorf("reading randomness: %w", err)
		}
		if x := binary.LittleEndian.Uint32(b[:]); limit == 0 || x < limit {
			return int(x % uint32(n)), nil
		}
	}
	return 0, errors.New("reading randomness: no usable value")
}
