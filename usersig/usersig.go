// Package usersig generates and verifies userSigs in the TLS-sig-api-v2
// format, so that a sig made by any of the vendor's public generators
// (golang, python, java, node, ...) for an sdkAppID and secret is accepted
// by termcall, and a sig made here is accepted by the vendor's verifiers.
//
// A userSig is a small JSON document
//
//	{"TLS.ver":"2.0","TLS.identifier":"alice","TLS.sdkappid":1400000001,
//	 "TLS.expire":86400,"TLS.time":1700000000,"TLS.sig":"..."}
//
// (plus "TLS.userbuf" when a user buffer is attached) that is zlib
// compressed, base64 encoded and finally made URL friendly by replacing
// '+' with '*', '/' with '-' and '=' with '_'.
//
// TLS.sig is the standard base64 encoding of an HMAC-SHA256, keyed by the
// secret, over the lines
//
//	TLS.identifier:<identifier>\n
//	TLS.sdkappid:<sdkappid>\n
//	TLS.time:<unix seconds>\n
//	TLS.expire:<seconds>\n
//	TLS.userbuf:<base64 userbuf>\n   (only when a userbuf is present)
//
// A sig is valid from TLS.time until TLS.time+TLS.expire. Errors returned
// by this package are *protocol.Error values carrying CodeInvalidUserSig,
// CodeUserSigExpired, CodeSDKAppIDMismatch or CodeUserSigMismatch (and
// CodeInvalidArgument or CodeInvalidSDKAppID for bad arguments to the
// generators).
package usersig

import (
	"bytes"
	"compress/zlib"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"io"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/termcall/termcall/protocol"
)

// Version is the value of the TLS.ver field.
const Version = "2.0"

// Limits that keep hostile input cheap to reject.
const (
	maxSigLen  = 16 << 10 // encoded sig, bytes
	maxDocLen  = 64 << 10 // decompressed JSON, bytes
	maxExpireS = math.MaxInt64 / int64(time.Second)
)

// JSON field names.
const (
	fieldVer        = "TLS.ver"
	fieldIdentifier = "TLS.identifier"
	fieldSDKAppID   = "TLS.sdkappid"
	fieldExpire     = "TLS.expire"
	fieldTime       = "TLS.time"
	fieldSig        = "TLS.sig"
	fieldUserBuf    = "TLS.userbuf"
)

// Info is the decoded content of a userSig.
type Info struct {
	Identifier string        // the userId the sig was issued for
	SDKAppID   uint64        // the application it was issued by
	Time       time.Time     // when it was issued (whole seconds)
	Expire     time.Duration // how long it is valid after Time (whole seconds)
	UserBuf    []byte        // optional opaque user buffer, nil when absent
}

// ExpiresAt returns the instant after which the sig is no longer accepted.
func (i Info) ExpiresAt() time.Time { return i.Time.Add(i.Expire) }

// Gen returns a userSig for userID valid for expire from now.
func Gen(sdkAppID uint64, secret, userID string, expire time.Duration) (string, error) {
	return GenAt(sdkAppID, secret, userID, time.Now(), expire)
}

// GenAt is Gen with an explicit issue time. now and expire are truncated to
// whole seconds; expire must be at least one second.
func GenAt(sdkAppID uint64, secret, userID string, now time.Time, expire time.Duration) (string, error) {
	return GenWithUserBuf(sdkAppID, secret, userID, now, expire, nil)
}

// GenWithUserBuf is GenAt with a user buffer (for example a privilege map)
// that is signed together with the identity. A nil or empty userBuf is the
// same as GenAt.
func GenWithUserBuf(sdkAppID uint64, secret, userID string, now time.Time, expire time.Duration, userBuf []byte) (string, error) {
	if sdkAppID == 0 {
		return "", protocol.Errorf(protocol.CodeInvalidSDKAppID, "sdkAppID must not be 0")
	}
	if secret == "" {
		return "", protocol.Errorf(protocol.CodeInvalidArgument, "usersig: empty secret")
	}
	if userID == "" {
		return "", protocol.Errorf(protocol.CodeInvalidArgument, "usersig: empty userId")
	}
	if expire < time.Second {
		return "", protocol.Errorf(protocol.CodeInvalidArgument, "usersig: expire %v is shorter than one second", expire)
	}
	info := Info{
		Identifier: userID,
		SDKAppID:   sdkAppID,
		Time:       time.Unix(now.Unix(), 0),
		Expire:     expire.Truncate(time.Second),
	}
	if len(userBuf) > 0 {
		info.UserBuf = userBuf
	}
	doc := map[string]any{
		fieldVer:        Version,
		fieldIdentifier: info.Identifier,
		fieldSDKAppID:   info.SDKAppID,
		fieldExpire:     int64(info.Expire / time.Second),
		fieldTime:       info.Time.Unix(),
		fieldSig:        mac(secret, info),
	}
	if info.UserBuf != nil {
		doc[fieldUserBuf] = base64.StdEncoding.EncodeToString(info.UserBuf)
	}
	js, err := json.Marshal(doc)
	if err != nil {
		return "", protocol.Errorf(protocol.CodeInternal, "usersig: %w", err)
	}
	var z bytes.Buffer
	zw := zlib.NewWriter(&z)
	_, _ = zw.Write(js) // writes to a bytes.Buffer cannot fail
	if err := zw.Close(); err != nil {
		return "", protocol.Errorf(protocol.CodeInternal, "usersig: %w", err)
	}
	return toURL.Replace(base64.StdEncoding.EncodeToString(z.Bytes())), nil
}

// Parse decodes sig without checking its MAC. Use it to show what a sig
// claims; use Verify to trust it.
func Parse(sig string) (Info, error) {
	info, _, err := parse(sig)
	return info, err
}

// Verify checks that sig was issued with secret for sdkAppID and userID and
// has not expired at now. On success it returns the sig's content.
//
// The checks run in this order, so the error code names the first problem:
// a malformed sig (CodeInvalidUserSig), another application
// (CodeSDKAppIDMismatch), another user (CodeUserSigMismatch), a MAC that
// does not match (CodeInvalidUserSig), then expiry (CodeUserSigExpired).
func Verify(sig string, sdkAppID uint64, secret, userID string, now time.Time) (Info, error) {
	info, got, err := parse(sig)
	if err != nil {
		return Info{}, err
	}
	if info.SDKAppID != sdkAppID {
		return Info{}, protocol.Errorf(protocol.CodeSDKAppIDMismatch,
			"userSig was issued for sdkAppID %d, this server is %d", info.SDKAppID, sdkAppID)
	}
	if info.Identifier != userID {
		return Info{}, protocol.Errorf(protocol.CodeUserSigMismatch,
			"userSig was issued for %q, not %q", info.Identifier, userID)
	}
	want, _ := base64.StdEncoding.DecodeString(mac(secret, info))
	if !hmac.Equal(got, want) {
		return Info{}, protocol.Errorf(protocol.CodeInvalidUserSig, "userSig signature does not match: it was signed with another secret key than the server's (check --secret / TERMCALL_SECRET on both sides)")
	}
	if now.After(info.ExpiresAt()) {
		return Info{}, protocol.Errorf(protocol.CodeUserSigExpired,
			"userSig expired at %s", info.ExpiresAt().UTC().Format(time.RFC3339))
	}
	return info, nil
}

// mac returns the standard base64 HMAC-SHA256 of info's signed content.
func mac(secret string, info Info) string {
	var b strings.Builder
	b.WriteString("TLS.identifier:" + info.Identifier + "\n")
	b.WriteString("TLS.sdkappid:" + strconv.FormatUint(info.SDKAppID, 10) + "\n")
	b.WriteString("TLS.time:" + strconv.FormatInt(info.Time.Unix(), 10) + "\n")
	b.WriteString("TLS.expire:" + strconv.FormatInt(int64(info.Expire/time.Second), 10) + "\n")
	if info.UserBuf != nil {
		b.WriteString("TLS.userbuf:" + base64.StdEncoding.EncodeToString(info.UserBuf) + "\n")
	}
	h := hmac.New(sha256.New, []byte(secret))
	h.Write([]byte(b.String()))
	return base64.StdEncoding.EncodeToString(h.Sum(nil))
}

var (
	// toURL is the vendor's URL-friendly alphabet; fromURL undoes it.
	toURL   = strings.NewReplacer("+", "*", "/", "-", "=", "_")
	fromURL = strings.NewReplacer("*", "+", "-", "/", "_", "=")
	// fromRFC undoes the RFC 4648 URL alphabet, which some tools use.
	fromRFC = strings.NewReplacer("-", "+", "_", "/")
)

func invalid(format string, args ...any) error {
	return protocol.Errorf(protocol.CodeInvalidUserSig, format, args...)
}

// parse decodes sig into its content and the raw MAC it carries.
func parse(sig string) (Info, []byte, error) {
	sig = strings.Join(strings.Fields(sig), "") // tolerate wrapped or padded pastes
	if sig == "" {
		return Info{}, nil, invalid("userSig is empty")
	}
	if len(sig) > maxSigLen {
		return Info{}, nil, invalid("userSig is longer than %d bytes", maxSigLen)
	}
	js, err := unwrap(sig)
	if err != nil {
		return Info{}, nil, err
	}
	return decodeDoc(js)
}

// unwrap turns the transport form into the JSON document. It accepts the
// vendor's alphabet (which leaves standard base64 unchanged) and, failing
// that, the RFC 4648 URL alphabet; padding is optional in both.
func unwrap(sig string) ([]byte, error) {
	var firstErr error
	for _, r := range []*strings.Replacer{fromURL, fromRFC} {
		js, err := inflate(r.Replace(sig))
		if err == nil {
			return js, nil
		}
		if firstErr == nil {
			firstErr = err
		}
	}
	return nil, firstErr
}

func inflate(b64 string) ([]byte, error) {
	raw, err := base64.RawStdEncoding.DecodeString(strings.TrimRight(b64, "="))
	if err != nil {
		return nil, invalid("userSig is not base64: %v", err)
	}
	zr, err := zlib.NewReader(bytes.NewReader(raw))
	if err != nil {
		return nil, invalid("userSig is not zlib data: %v", err)
	}
	defer zr.Close()
	js, err := io.ReadAll(io.LimitReader(zr, maxDocLen+1))
	if err != nil {
		return nil, invalid("userSig does not decompress: %v", err)
	}
	if len(js) > maxDocLen {
		return nil, invalid("userSig document is larger than %d bytes", maxDocLen)
	}
	return js, nil
}

// decodeDoc reads the JSON document. Numbers may be JSON numbers or
// strings holding decimal integers, as generators differ.
func decodeDoc(js []byte) (Info, []byte, error) {
	var doc map[string]json.RawMessage
	if err := json.Unmarshal(js, &doc); err != nil {
		return Info{}, nil, invalid("userSig document is not a JSON object: %v", err)
	}
	if v, ok := doc[fieldVer]; ok {
		ver, err := str(v)
		if err != nil || ver != Version {
			return Info{}, nil, invalid("userSig has unsupported %s %s", fieldVer, v)
		}
	}
	var info Info
	if err := docIdentity(doc, &info); err != nil {
		return Info{}, nil, err
	}
	if err := docTimes(doc, &info); err != nil {
		return Info{}, nil, err
	}
	if err := docUserBuf(doc, &info); err != nil {
		return Info{}, nil, err
	}
	m, err := docSig(doc)
	if err != nil {
		return Info{}, nil, err
	}
	return info, m, nil
}

// docIdentity reads who the userSig is for: the identifier and the app.
func docIdentity(doc map[string]json.RawMessage, info *Info) error {
	var err error
	if info.Identifier, err = reqStr(doc, fieldIdentifier); err != nil {
		return err
	}
	if info.Identifier == "" {
		return invalid("userSig has an empty %s", fieldIdentifier)
	}
	info.SDKAppID, err = reqUint(doc, fieldSDKAppID)
	return err
}

// docTimes reads when the userSig was made and how long it is valid.
func docTimes(doc map[string]json.RawMessage, info *Info) error {
	t, err := reqUint(doc, fieldTime)
	if err != nil {
		return err
	}
	if t > math.MaxInt64 {
		return invalid("userSig %s %d is out of range", fieldTime, t)
	}
	info.Time = time.Unix(int64(t), 0)
	exp, err := reqUint(doc, fieldExpire)
	if err != nil {
		return err
	}
	if exp > uint64(maxExpireS) {
		return invalid("userSig %s %d is out of range", fieldExpire, exp)
	}
	info.Expire = time.Duration(exp) * time.Second
	return nil
}

// docUserBuf reads the optional userbuf (base64).
func docUserBuf(doc map[string]json.RawMessage, info *Info) error {
	v, ok := doc[fieldUserBuf]
	if !ok {
		return nil
	}
	s, err := str(v)
	if err != nil {
		return invalid("userSig %s: %v", fieldUserBuf, err)
	}
	// Strict, so that re-encoding for the MAC reproduces s exactly.
	if info.UserBuf, err = base64.StdEncoding.Strict().DecodeString(s); err != nil {
		return invalid("userSig %s is not base64: %v", fieldUserBuf, err)
	}
	if info.UserBuf == nil {
		info.UserBuf = []byte{}
	}
	return nil
}

// docSig reads the MAC: a base64 HMAC-SHA256.
func docSig(doc map[string]json.RawMessage) ([]byte, error) {
	s, err := reqStr(doc, fieldSig)
	if err != nil {
		return nil, err
	}
	m, err := base64.StdEncoding.DecodeString(s)
	if err != nil || len(m) != sha256.Size {
		return nil, invalid("userSig %s is not a base64 HMAC-SHA256", fieldSig)
	}
	return m, nil
}

func str(v json.RawMessage) (string, error) {
	var s string
	err := json.Unmarshal(v, &s)
	return s, err
}

func reqStr(doc map[string]json.RawMessage, key string) (string, error) {
	v, ok := doc[key]
	if !ok {
		return "", invalid("userSig has no %s", key)
	}
	s, err := str(v)
	if err != nil {
		return "", invalid("userSig %s is not a string", key)
	}
	return s, nil
}

// reqUint reads a non-negative integer given as a JSON number or a string.
func reqUint(doc map[string]json.RawMessage, key string) (uint64, error) {
	v, ok := doc[key]
	if !ok {
		return 0, invalid("userSig has no %s", key)
	}
	text := string(bytes.TrimSpace(v))
	if strings.HasPrefix(text, `"`) {
		s, err := str(v)
		if err != nil {
			return 0, invalid("userSig %s is not a number", key)
		}
		text = strings.TrimSpace(s)
	}
	n, err := strconv.ParseUint(text, 10, 64)
	if err != nil {
		return 0, invalid("userSig %s %.40s is not a non-negative integer", key, text)
	}
	return n, nil
}
