package provision

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// Sealer encrypts the secrets of stored jobs (target tokens and OAuth
// client secrets) with AES-256-GCM. They are encrypted, not hashed, because
// the engine must send them; the key lives outside the database (a file in
// the data directory, or ROSTER_SECRET_KEY for replicas), so a copy of the
// database alone does not reveal them.
type Sealer struct {
	aead cipher.AEAD
}

// sealPrefix marks a sealed value and its format version.
const sealPrefix = "sealed:v1:"

// KeySize is the secret key's length in bytes.
const KeySize = 32

// NewSealer returns a Sealer for a 32-byte key.
func NewSealer(key []byte) (*Sealer, error) {
	if len(key) != KeySize {
		return nil, fmt.Errorf("the secret key must be %d bytes, got %d", KeySize, len(key))
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	return &Sealer{aead: aead}, nil
}

// ParseKey reads a key written as 64 hex digits or as base64 of 32 bytes.
func ParseKey(s string) ([]byte, error) {
	s = strings.TrimSpace(s)
	if b, err := hex.DecodeString(s); err == nil && len(b) == KeySize {
		return b, nil
	}
	if b, err := base64.StdEncoding.DecodeString(s); err == nil && len(b) == KeySize {
		return b, nil
	}
	return nil, errors.New("the secret key must be 32 bytes written as 64 hex digits or in base64 (make one with: openssl rand -hex 32)")
}

// KeyFile is the secret key's file name in a data directory.
const KeyFile = "secret.key"

// LoadOrCreateKey returns the key in dir/secret.key, creating the file
// (mode 0600) with a random key when it does not exist. SQLite deployments
// keep their key next to their database this way; back both up together.
func LoadOrCreateKey(dir string) ([]byte, error) {
	path := filepath.Join(dir, KeyFile)
	if b, err := os.ReadFile(path); err == nil {
		k, err := ParseKey(string(b))
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		return k, nil
	} else if !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	k := make([]byte, KeySize)
	if _, err := rand.Read(k); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, os.ErrExist) { // another process made it first
		return LoadOrCreateKey(dir)
	}
	if err != nil {
		return nil, err
	}
	if _, err := f.WriteString(hex.EncodeToString(k) + "\n"); err != nil {
		f.Close()
		return nil, err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return nil, err
	}
	return k, f.Close()
}

// Seal encrypts a secret; "" stays "".
func (s *Sealer) Seal(plain string) (string, error) {
	if plain == "" {
		return "", nil
	}
	nonce := make([]byte, s.aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return "", err
	}
	out := s.aead.Seal(nonce, nonce, []byte(plain), []byte(sealPrefix))
	return sealPrefix + base64.RawStdEncoding.EncodeToString(out), nil
}

// Open decrypts a sealed secret; "" stays "".
func (s *Sealer) Open(sealed string) (string, error) {
	if sealed == "" {
		return "", nil
	}
	rest, ok := strings.CutPrefix(sealed, sealPrefix)
	if !ok {
		return "", errors.New("the stored secret is not sealed")
	}
	b, err := base64.RawStdEncoding.DecodeString(rest)
	if err != nil || len(b) < s.aead.NonceSize() {
		return "", errors.New("the stored secret is damaged")
	}
	plain, err := s.aead.Open(nil, b[:s.aead.NonceSize()], b[s.aead.NonceSize():], []byte(sealPrefix))
	if err != nil {
		return "", errors.New("the stored secret does not open with this secret key: was the key changed? Set the key the job was created with (ROSTER_SECRET_KEY or the data directory's secret.key), or create the job again")
	}
	return string(plain), nil
}

// secrets lists a job's secret fields.
func (j *Job) secrets() []*string {
	return []*string{&j.Source.Token, &j.Source.ClientSecret, &j.Target.Token, &j.Target.ClientSecret}
}

// SealJob returns the job as stored: JSON with its secrets sealed.
func (s *Sealer) SealJob(j *Job) ([]byte, error) {
	c := *j
	for _, p := range c.secrets() {
		v, err := s.Seal(*p)
		if err != nil {
			return nil, err
		}
		*p = v
	}
	return json.Marshal(&c)
}

// OpenJob decodes a stored job and opens its secrets.
func (s *Sealer) OpenJob(data []byte) (*Job, error) {
	var j Job
	if err := json.Unmarshal(data, &j); err != nil {
		return nil, fmt.Errorf("stored job: %w", err)
	}
	for _, p := range j.secrets() {
		v, err := s.Open(*p)
		if err != nil {
			return nil, err
		}
		*p = v
	}
	return &j, nil
}
