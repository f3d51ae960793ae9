package usersig

import (
	"bytes"
	"compress/zlib"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/termcall/termcall/protocol"
)

const (
	testApp    = 1400000001
	testSecret = "5bd2850fff3ecb11d7c805251c51ee463a25727bddc2385f3fa8bfee1bb93b5e"
)

var testNow = time.Unix(1700000000, 0)

// pack compresses and encodes a JSON document the way the vendor does,
// written independently of the package code.
func pack(t testing.TB, js []byte) string {
	t.Helper()
	var z bytes.Buffer
	w := zlib.NewWriter(&z)
	if _, err := w.Write(js); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	s := base64.StdEncoding.EncodeToString(z.Bytes())
	s = strings.ReplaceAll(s, "+", "*")
	s = strings.ReplaceAll(s, "/", "-")
	return strings.ReplaceAll(s, "=", "_")
}

// unpack is the inverse of pack.
func unpack(t testing.TB, sig string) map[string]any {
	t.Helper()
	s := strings.NewReplacer("*", "+", "-", "/", "_", "=").Replace(sig)
	raw, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	r, err := zlib.NewReader(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	js, err := io.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	d := json.NewDecoder(bytes.NewReader(js))
	d.UseNumber()
	if err := d.Decode(&doc); err != nil {
		t.Fatal(err)
	}
	return doc
}

func repack(t testing.TB, doc map[string]any) string {
	t.Helper()
	js, err := json.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	return pack(t, js)
}

func hmacB64(secret, content string) string {
	h := hmac.New(sha256.New, []byte(secret))
	h.Write([]byte(content))
	return base64.StdEncoding.EncodeToString(h.Sum(nil))
}

func wantCode(t *testing.T, err error, want protocol.Code) {
	t.Helper()
	if got := protocol.CodeOf(err); got != want {
		t.Errorf("error code = %d (%v), want %d (%v)", got, err, want, want)
	}
}

func TestRoundTrip(t *testing.T) {
	sig, err := GenAt(testApp, testSecret, "alice", testNow, 180*24*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if strings.ContainsAny(sig, "+/=") {
		t.Errorf("sig %q contains characters that should have been replaced", sig)
	}
	want := Info{Identifier: "alice", SDKAppID: testApp, Time: testNow, Expire: 180 * 24 * time.Hour}
	got, err := Verify(sig, testApp, testSecret, "alice", testNow.Add(time.Hour))
	if err != nil {
		t.Fatalf("Verify: %v", err)
	}
	if diff := cmp.Diff(got, want); diff != "" {
		t.Errorf("Verify info (-got +want):\n%s", diff)
	}
	parsed, err := Parse(sig)
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	if diff := cmp.Diff(parsed, want); diff != "" {
		t.Errorf("Parse info (-got +want):\n%s", diff)
	}
	if got, want := got.ExpiresAt(), testNow.Add(180*24*time.Hour); !got.Equal(want) {
		t.Errorf("ExpiresAt = %v, want %v", got, want)
	}

	doc := unpack(t, sig)
	for k, v := range map[string]any{
		"TLS.ver": "2.0", "TLS.identifier": "alice", "TLS.sdkappid": json.Number("1400000001"),
		"TLS.time": json.Number("1700000000"), "TLS.expire": json.Number("15552000"),
	} {
		if doc[k] != v {
			t.Errorf("doc[%q] = %#v, want %#v", k, doc[k], v)
		}
	}
	content := "TLS.identifier:alice\nTLS.sdkappid:1400000001\nTLS.time:1700000000\nTLS.expire:15552000\n"
	if got, want := doc["TLS.sig"], hmacB64(testSecret, content); got != want {
		t.Errorf("TLS.sig = %v, want %v", got, want)
	}
}

func TestGenNow(t *testing.T) {
	sig, err := Gen(testApp, testSecret, "bob", time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Verify(sig, testApp, testSecret, "bob", time.Now()); err != nil {
		t.Errorf("Verify: %v", err)
	}
}

func TestGenBadArguments(t *testing.T) {
	for _, tc := range []struct {
		name   string
		app    uint64
		secret string
		user   string
		expire time.Duration
		code   protocol.Code
	}{
		{"zero app", 0, testSecret, "a", time.Hour, protocol.CodeInvalidSDKAppID},
		{"no secret", testApp, "", "a", time.Hour, protocol.CodeInvalidArgument},
		{"no user", testApp, testSecret, "", time.Hour, protocol.CodeInvalidArgument},
		{"short expire", testApp, testSecret, "a", time.Millisecond, protocol.CodeInvalidArgument},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := GenAt(tc.app, tc.secret, tc.user, testNow, tc.expire)
			wantCode(t, err, tc.code)
		})
	}
}

func TestVerifyFailures(t *testing.T) {
	sig, err := GenAt(testApp, testSecret, "alice", testNow, time.Hour)
	if err != nil {
		t.Fatal(err)
	}

	flipped := unpack(t, sig)
	mac, _ := base64.StdEncoding.DecodeString(flipped["TLS.sig"].(string))
	mac[0] ^= 1
	flipped["TLS.sig"] = base64.StdEncoding.EncodeToString(mac)

	renamed := unpack(t, sig)
	renamed["TLS.identifier"] = "mallory"

	longer := unpack(t, sig)
	longer["TLS.expire"] = json.Number("999999")

	for _, tc := range []struct {
		name   string
		sig    string
		app    uint64
		secret string
		user   string
		now    time.Time
		code   protocol.Code
	}{
		{"flipped mac", repack(t, flipped), testApp, testSecret, "alice", testNow, protocol.CodeInvalidUserSig},
		{"changed identifier", repack(t, renamed), testApp, testSecret, "mallory", testNow, protocol.CodeInvalidUserSig},
		{"extended expiry", repack(t, longer), testApp, testSecret, "alice", testNow, protocol.CodeInvalidUserSig},
		{"wrong secret", sig, testApp, "other", "alice", testNow, protocol.CodeInvalidUserSig},
		{"expired", sig, testApp, testSecret, "alice", testNow.Add(time.Hour + time.Second), protocol.CodeUserSigExpired},
		{"foreign app", sig, testApp + 1, testSecret, "alice", testNow, protocol.CodeSDKAppIDMismatch},
		{"wrong user", sig, testApp, testSecret, "bob", testNow, protocol.CodeUserSigMismatch},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Verify(tc.sig, tc.app, tc.secret, tc.user, tc.now)
			wantCode(t, err, tc.code)
		})
	}

	// The last second of validity is still valid.
	if _, err := Verify(sig, testApp, testSecret, "alice", testNow.Add(time.Hour)); err != nil {
		t.Errorf("Verify at expiry instant: %v", err)
	}
}

func TestGarbage(t *testing.T) {
	valid := pack(t, []byte(`{"TLS.ver":"2.0","TLS.identifier":"a","TLS.sdkappid":1,"TLS.expire":1,"TLS.time":1,"TLS.sig":"`+
		hmacB64("k", "x")+`"}`))
	if _, err := Parse(valid); err != nil {
		t.Fatalf("Parse of control sig: %v", err)
	}
	for _, tc := range []struct{ name, sig string }{
		{"empty", ""},
		{"spaces", "   "},
		{"not base64", "!!!!"},
		{"not zlib", base64.StdEncoding.EncodeToString([]byte("hello world"))},
		{"truncated", valid[:len(valid)/2]},
		{"not json", pack(t, []byte("hello"))},
		{"json array", pack(t, []byte(`[1,2]`))},
		{"empty object", pack(t, []byte(`{}`))},
		{"bad version", pack(t, []byte(`{"TLS.ver":"1.0","TLS.identifier":"a","TLS.sdkappid":1,"TLS.expire":1,"TLS.time":1,"TLS.sig":"`+hmacB64("k", "x")+`"}`))},
		{"negative expire", pack(t, []byte(`{"TLS.identifier":"a","TLS.sdkappid":1,"TLS.expire":-1,"TLS.time":1,"TLS.sig":"`+hmacB64("k", "x")+`"}`))},
		{"huge expire", pack(t, []byte(`{"TLS.identifier":"a","TLS.sdkappid":1,"TLS.expire":18446744073709551615,"TLS.time":1,"TLS.sig":"`+hmacB64("k", "x")+`"}`))},
		{"float app", pack(t, []byte(`{"TLS.identifier":"a","TLS.sdkappid":1.5,"TLS.expire":1,"TLS.time":1,"TLS.sig":"`+hmacB64("k", "x")+`"}`))},
		{"numeric identifier", pack(t, []byte(`{"TLS.identifier":7,"TLS.sdkappid":1,"TLS.expire":1,"TLS.time":1,"TLS.sig":"`+hmacB64("k", "x")+`"}`))},
		{"empty identifier", pack(t, []byte(`{"TLS.identifier":"","TLS.sdkappid":1,"TLS.expire":1,"TLS.time":1,"TLS.sig":"`+hmacB64("k", "x")+`"}`))},
		{"short mac", pack(t, []byte(`{"TLS.identifier":"a","TLS.sdkappid":1,"TLS.expire":1,"TLS.time":1,"TLS.sig":"AAAA"}`))},
		{"no mac", pack(t, []byte(`{"TLS.identifier":"a","TLS.sdkappid":1,"TLS.expire":1,"TLS.time":1}`))},
		{"bad userbuf", pack(t, []byte(`{"TLS.identifier":"a","TLS.sdkappid":1,"TLS.expire":1,"TLS.time":1,"TLS.userbuf":"%%","TLS.sig":"`+hmacB64("k", "x")+`"}`))},
		{"too long", strings.Repeat("A", maxSigLen+1)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse(tc.sig)
			wantCode(t, err, protocol.CodeInvalidUserSig)
			_, err = Verify(tc.sig, 1, "k", "a", time.Unix(1, 0))
			wantCode(t, err, protocol.CodeInvalidUserSig)
		})
	}
}

// TestIndependentConstruction builds sigs by hand, in the shapes other
// generators produce, and checks that they verify.
func TestIndependentConstruction(t *testing.T) {
	const user = "carol_01"
	content := fmt.Sprintf("TLS.identifier:%s\nTLS.sdkappid:%d\nTLS.time:%d\nTLS.expire:%d\n", user, testApp, testNow.Unix(), 86400)
	userBuf := []byte{0, 1, 2, 0xfe, 0xff, 'x'}
	ub64 := base64.StdEncoding.EncodeToString(userBuf)

	numeric := fmt.Sprintf(`{"TLS.ver":"2.0","TLS.identifier":%q,"TLS.sdkappid":%d,"TLS.expire":86400,"TLS.time":%d,"TLS.sig":%q}`,
		user, testApp, testNow.Unix(), hmacB64(testSecret, content))
	strs := fmt.Sprintf(`{ "TLS.sig" : %q, "TLS.time":"%d", "TLS.expire":"86400", "TLS.sdkappid":"%d", "TLS.identifier":%q, "TLS.ver":"2.0" }`,
		hmacB64(testSecret, content), testNow.Unix(), testApp, user)
	withBuf := fmt.Sprintf(`{"TLS.ver":"2.0","TLS.identifier":%q,"TLS.sdkappid":%d,"TLS.expire":86400,"TLS.time":%d,"TLS.userbuf":%q,"TLS.sig":%q}`,
		user, testApp, testNow.Unix(), ub64, hmacB64(testSecret, content+"TLS.userbuf:"+ub64+"\n"))

	base := Info{Identifier: user, SDKAppID: testApp, Time: testNow, Expire: 24 * time.Hour}
	withBufInfo := base
	withBufInfo.UserBuf = userBuf

	vendor := pack(t, []byte(numeric))
	std := strings.NewReplacer("*", "+", "-", "/", "_", "=").Replace(vendor)
	rfc := base64.RawURLEncoding.EncodeToString(mustDecode(t, std))

	for _, tc := range []struct {
		name string
		sig  string
		want Info
	}{
		{"json numbers", vendor, base},
		{"numeric strings", pack(t, []byte(strs)), base},
		{"userbuf", pack(t, []byte(withBuf)), withBufInfo},
		{"standard base64", std, base},
		{"unpadded", strings.TrimRight(vendor, "_"), base},
		{"rfc4648 url alphabet", rfc, base},
		{"wrapped paste", " " + vendor[:10] + "\n" + vendor[10:] + "\n", base},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Verify(tc.sig, testApp, testSecret, user, testNow.Add(time.Hour))
			if err != nil {
				t.Fatalf("Verify: %v", err)
			}
			if diff := cmp.Diff(got, tc.want); diff != "" {
				t.Errorf("info (-got +want):\n%s", diff)
			}
		})
	}

	// GenWithUserBuf produces the same MAC as the hand-built document.
	sig, err := GenWithUserBuf(testApp, testSecret, user, testNow, 24*time.Hour, userBuf)
	if err != nil {
		t.Fatal(err)
	}
	var hand map[string]any
	if err := json.Unmarshal([]byte(withBuf), &hand); err != nil {
		t.Fatal(err)
	}
	doc := unpack(t, sig)
	for _, k := range []string{"TLS.sig", "TLS.userbuf"} {
		if doc[k] != hand[k] {
			t.Errorf("%s = %v, want %v", k, doc[k], hand[k])
		}
	}
}

func mustDecode(t *testing.T, s string) []byte {
	t.Helper()
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func FuzzParse(f *testing.F) {
	sig, err := GenAt(testApp, testSecret, "alice", testNow, time.Hour)
	if err != nil {
		f.Fatal(err)
	}
	withBuf, err := GenWithUserBuf(testApp, testSecret, "alice", testNow, time.Hour, []byte("buf"))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(sig)
	f.Add(withBuf)
	f.Add("")
	f.Add("eJyrVg==")
	f.Fuzz(func(t *testing.T, s string) {
		info, err := Parse(s)
		if err != nil {
			if protocol.CodeOf(err) != protocol.CodeInvalidUserSig {
				t.Fatalf("Parse(%q) error %v has code %d", s, err, protocol.CodeOf(err))
			}
			return
		}
		if info.Identifier == "" || info.Expire < 0 {
			t.Fatalf("Parse(%q) = %+v, an impossible Info", s, info)
		}
		// Whatever parses must verify or fail with a protocol error, never panic.
		_, err = Verify(s, info.SDKAppID, testSecret, info.Identifier, info.Time)
		if err != nil && protocol.CodeOf(err) == protocol.CodeInternal {
			t.Fatalf("Verify(%q): %v", s, err)
		}
	})
}
