package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// env returns a getenv over m, so tests never see the real environment.
func env(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

func writeFile(t *testing.T, dir, name, data string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestDefaultValidates(t *testing.T) {
	if err := Default().Validate(); err != nil {
		t.Errorf("Default().Validate() = %v, want nil", err)
	}
}

// TestExample keeps config.yaml.example loadable, valid and complete.
func TestExample(t *testing.T) {
	got, err := Load("../config.yaml.example", env(nil))
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	if err := got.Validate(); err != nil {
		t.Errorf("Validate: %v", err)
	}
	want := Config{
		Server:      "http://127.0.0.1:7480",
		SDKAppID:    1400000001,
		User:        "alice",
		UserSig:     "",
		Secret:      "termcall-dev-secret",
		MultiDevice: false,
		LogFile:     "",
		Serve: Serve{
			Listen:      "127.0.0.1:7480",
			Data:        "termcall-data",
			Keepalive:   5 * time.Second,
			GracePeriod: 15 * time.Second,
			AdminUser:   "administrator",
			UDPPort:     7481,
			MediaIP:     "",
			PublicIP:    "",
			// edge
			ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 30 * time.Second,
			WriteTimeout: 30 * time.Second, IdleTimeout: 30 * time.Second, MaxHeaderBytes: 16384,
			AllowedOrigins: []string{},
			// limits
			MaxDevicesPerUser:     10,
			CallRate:              10,
			CallBurst:             20,
			MaxPendingInvitations: 20,
			MaxInvitationBytes:    8192,
			// --- kit: offline push ---
			PushTimeout: 5 * time.Second, PushRetries: 4, PushQueue: 1000, MinInviteTimeout: 10 * time.Second,
		},
		TUI:   TUI{Lang: "", IncomingBanner: false, FloatWindow: false},
		Video: Video{Front: "", Back: "", Render: ""},
		Audio: Audio{
			Mic:              "",
			Speakerphone:     "",
			Earpiece:         "",
			EchoCancellation: true,
			Ringtone:         "",
			MuteMode:         false,
		},
		Bot: Bot{
			Mode:        "answer",
			AnswerDelay: 2 * time.Second,
			MaxDuration: 10 * time.Minute,
			Allow:       []string{},
		},
		Contacts: []string{"bob", "carol"},
	}
	if diff := cmp.Diff(got, want); diff != "" {
		t.Errorf("example config (-got +want):\n%s", diff)
	}

	// Every key of the struct appears in the sample.
	data, err := os.ReadFile("../config.yaml.example")
	if err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{
		"server", "sdkappid", "user", "usersig", "secret", "multi_device", "log_file",
		"serve", "listen", "data", "keepalive", "grace_period", "admin_user",
		"bot", "mode", "answer_delay", "max_duration", "allow", "contacts",
		"ca_file", "no_media", "read_header_timeout", "read_timeout", "write_timeout", "idle_timeout", "max_header_bytes",
		"max_connections", "max_connections_per_ip", "tls_cert", "tls_key", "public_url", "allowed_origins",
		"store", "database",
	} {
		if !strings.Contains(string(data), "\n"+key+":") && !strings.Contains(string(data), "  "+key+":") {
			t.Errorf("config.yaml.example has no key %q", key)
		}
	}
}

func TestPrecedence(t *testing.T) {
	dir := t.TempDir()
	file := writeFile(t, dir, "c.yaml", `
server: https://file.example
user: fileuser
serve:
  data: /var/lib/file
`)
	got, err := Load(file, env(map[string]string{
		EnvUser:        "envuser",
		EnvSDKAppID:    "1400000999",
		EnvMultiDevice: "yes",
		EnvListen:      ":9000",
		EnvDatabase:    "postgres://u:p@db.example:5432/termcall",
		EnvNATS:        "nats://n1.example:4222,nats://n2.example:4222",
		EnvNodeID:      "node-7",
	}))
	if err != nil {
		t.Fatal(err)
	}
	want := Default()
	want.Server = "https://file.example"    // file over default
	want.User = "envuser"                   // env over file
	want.SDKAppID = 1400000999              // env over default
	want.MultiDevice = true                 // env over default
	want.Serve.Listen = ":9000"             // env over default
	want.Serve.Data = "/var/lib/file"       // file over default
	want.Serve.Keepalive = DefaultKeepalive // untouched default inside a set section
	want.Store.Database = "postgres://u:p@db.example:5432/termcall"
	want.Cluster.NATS = "nats://n1.example:4222,nats://n2.example:4222"
	want.Cluster.NodeID = "node-7"
	if diff := cmp.Diff(got, want); diff != "" {
		t.Errorf("Load (-got +want):\n%s", diff)
	}
	if err := got.Validate(); err != nil {
		t.Errorf("Validate: %v", err)
	}
}

func TestLocate(t *testing.T) {
	dir := t.TempDir()
	xdg := filepath.Join(dir, "xdg")
	home := filepath.Join(dir, "home")
	homeFile := writeFile(t, home, ".config/termcall/config.yaml", "user: fromhome\n")

	t.Run("no file anywhere", func(t *testing.T) {
		got, err := Load("", env(map[string]string{"XDG_CONFIG_HOME": xdg, "HOME": dir}))
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(got, Default()); diff != "" {
			t.Errorf("Load (-got +want):\n%s", diff)
		}
	})
	t.Run("home fallback", func(t *testing.T) {
		p, err := Locate("", env(map[string]string{"XDG_CONFIG_HOME": xdg, "HOME": home}))
		if err != nil || p != homeFile {
			t.Errorf("Locate = %q, %v, want %q, nil", p, err, homeFile)
		}
	})
	xdgFile := writeFile(t, xdg, "termcall/config.yaml", "user: fromxdg\n")
	t.Run("xdg first", func(t *testing.T) {
		got, err := Load("", env(map[string]string{"XDG_CONFIG_HOME": xdg, "HOME": home}))
		if err != nil || got.User != "fromxdg" {
			t.Errorf("Load user = %q, %v, want %q, nil (file %s)", got.User, err, "fromxdg", xdgFile)
		}
	})
	other := writeFile(t, dir, "other.yaml", "user: fromenv\n")
	t.Run("TERMCALL_CONFIG over xdg", func(t *testing.T) {
		got, err := Load("", env(map[string]string{EnvConfig: other, "XDG_CONFIG_HOME": xdg}))
		if err != nil || got.User != "fromenv" {
			t.Errorf("Load user = %q, %v, want %q, nil", got.User, err, "fromenv")
		}
	})
	t.Run("explicit path over TERMCALL_CONFIG", func(t *testing.T) {
		got, err := Load(homeFile, env(map[string]string{EnvConfig: other}))
		if err != nil || got.User != "fromhome" {
			t.Errorf("Load user = %q, %v, want %q, nil", got.User, err, "fromhome")
		}
	})
	for name, e := range map[string]map[string]string{
		"missing explicit path":   nil,
		"missing TERMCALL_CONFIG": {EnvConfig: filepath.Join(dir, "nope.yaml")},
	} {
		t.Run(name, func(t *testing.T) {
			path := ""
			if e == nil {
				path = filepath.Join(dir, "nope.yaml")
			}
			_, err := Load(path, env(e))
			if err == nil || !strings.Contains(err.Error(), "nope.yaml") {
				t.Errorf("Load error = %v, want one naming nope.yaml", err)
			}
		})
	}
}

func TestFileErrors(t *testing.T) {
	for _, tc := range []struct{ name, yaml, want string }{
		{"unknown top-level key", "server: http://x\nsevrer: http://y\n", `line 2: unknown key "sevrer" at the top level`},
		{"unknown nested key", "serve:\n  listen: :1\n  keep_alive: 5s\n", `line 3: unknown key "keep_alive" in section "serve"`},
		{"unknown bot key", "bot:\n  modes: busy\n", `line 2: unknown key "modes" in section "bot"`},
		{"duration without unit", "serve:\n  keepalive: 5\n", "line 2"},
		{"bad duration", "bot:\n  answer_delay: soon\n", "line 2"},
		{"bad number", "sdkappid: abc\n", "line 1"},
		{"two documents", "user: a\n---\nuser: b\n", "more than one YAML document"},
		{"not a mapping", "- a\n- b\n", "line 1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			file := writeFile(t, t.TempDir(), "c.yaml", tc.yaml)
			_, err := Load(file, env(nil))
			if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), file) {
				t.Errorf("Load error = %v, want one containing %q and the file name", err, tc.want)
			}
		})
	}
}

func TestEmptyFile(t *testing.T) {
	file := writeFile(t, t.TempDir(), "c.yaml", "# nothing but a comment\n")
	got, err := Load(file, env(nil))
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(got, Default()); diff != "" {
		t.Errorf("Load (-got +want):\n%s", diff)
	}
}

func TestBadEnv(t *testing.T) {
	for _, tc := range []struct{ name, value string }{
		{EnvSDKAppID, "app"},
		{EnvSDKAppID, "-1"},
		{EnvMultiDevice, "maybe"},
	} {
		_, err := Load("", env(map[string]string{tc.name: tc.value}))
		if err == nil || !strings.Contains(err.Error(), tc.name) {
			t.Errorf("Load with %s=%q: error = %v, want one naming %s", tc.name, tc.value, err, tc.name)
		}
	}
}

func TestEnvAll(t *testing.T) {
	got, err := Load("", env(map[string]string{
		EnvServer: "wss://s.example", EnvSDKAppID: "7", EnvUser: "u", EnvUserSig: "sig",
		EnvSecret: "sec", EnvMultiDevice: "false", EnvLogFile: "/tmp/l", EnvListen: "0.0.0.0:1", EnvData: "d",
	}))
	if err != nil {
		t.Fatal(err)
	}
	want := Default()
	want.Server, want.SDKAppID, want.User, want.UserSig = "wss://s.example", 7, "u", "sig"
	want.Secret, want.LogFile, want.Serve.Listen, want.Serve.Data = "sec", "/tmp/l", "0.0.0.0:1", "d"
	if diff := cmp.Diff(got, want); diff != "" {
		t.Errorf("Load (-got +want):\n%s", diff)
	}
}

func TestValidate(t *testing.T) {
	for _, tc := range []struct {
		name   string
		modify func(*Config)
		want   string // substring of the error; "" means valid
	}{
		{"ws server", func(c *Config) { c.Server = "ws://h:1/v1/ws" }, ""},
		{"ftp server", func(c *Config) { c.Server = "ftp://h" }, "server:"},
		{"hostless server", func(c *Config) { c.Server = "http://" }, "server:"},
		{"empty server", func(c *Config) { c.Server = "" }, "server:"},
		{"server list", func(c *Config) { c.Server = "http://n1:7481, https://n2,ws://n3:7483/v1/ws" }, ""},
		{"server list with an empty entry", func(c *Config) { c.Server = "http://n1:7481,,http://n3:7483" }, "server:"},
		{"server list with a bad entry", func(c *Config) { c.Server = "http://n1:7481,ftp://n2" }, "server:"},
		{"zero app", func(c *Config) { c.SDKAppID = 0 }, "sdkappid:"},
		{"bad user", func(c *Config) { c.User = "al ice" }, "user:"},
		{"long user", func(c *Config) { c.User = strings.Repeat("a", 33) }, "user:"},
		{"listen without port", func(c *Config) { c.Serve.Listen = "localhost" }, "serve.listen:"},
		{"listen bad port", func(c *Config) { c.Serve.Listen = "localhost:http" }, "serve.listen:"},
		{"listen any host", func(c *Config) { c.Serve.Listen = ":7480" }, ""},
		{"listen ipv6", func(c *Config) { c.Serve.Listen = "[::1]:7480" }, ""},
		{"no data", func(c *Config) { c.Serve.Data = "" }, "serve.data:"},
		{"postgres database", func(c *Config) { c.Store.Database = "postgresql://u:p@db:5432/termcall?sslmode=require" }, ""},
		{"mysql database", func(c *Config) { c.Store.Database = "mysql://u:p@db/termcall" }, "store.database: scheme"},
		{"database without host", func(c *Config) { c.Store.Database = "postgres:///termcall" }, "store.database: no host"},
		{"http nats", func(c *Config) { c.Cluster.NATS = "http://n1:4222" }, "cluster.nats: scheme"},
		{"nats without host", func(c *Config) { c.Cluster.NATS = "nats://n1:4222,nats://" }, "cluster.nats: no host"},
		{"node id with a space", func(c *Config) { c.Cluster.NodeID = "node 1" }, "cluster.node_id:"},
		{"long node id", func(c *Config) { c.Cluster.NodeID = strings.Repeat("n", 129) }, "cluster.node_id: 129 bytes"},
		{"three replicas", func(c *Config) { c.Cluster.Replicas = 3 }, ""},
		{"six replicas", func(c *Config) { c.Cluster.Replicas = 6 }, "cluster.replicas: 6"},
		{"negative replicas", func(c *Config) { c.Cluster.Replicas = -1 }, "cluster.replicas: -1"},
		{"database socket host", func(c *Config) { c.Store.Database = "postgres:///termcall?host=/run/postgresql" }, ""},
		{"zero keepalive", func(c *Config) { c.Serve.Keepalive = 0 }, "serve.keepalive:"},
		{"negative grace", func(c *Config) { c.Serve.GracePeriod = -time.Second }, "serve.grace_period:"},
		{"bad admin", func(c *Config) { c.Serve.AdminUser = "" }, "serve.admin_user:"},
		{"bad mode", func(c *Config) { c.Bot.Mode = "maybe" }, "bot.mode:"},
		// --- kit: audio (echo canceller) ---
		{"speex canceller", func(c *Config) { c.Audio.EchoCanceller = "speex" }, ""},
		{"bad canceller", func(c *Config) { c.Audio.EchoCanceller = "rnnoise" }, "audio.echo_canceller:"},
		{"bad udp port", func(c *Config) { c.Serve.UDPPort = 70000 }, "serve.udp_port:"},
		{"bad public ip", func(c *Config) { c.Serve.PublicIP = "example.org" }, "serve.public_ip:"},
		{"zero idle timeout", func(c *Config) { c.Serve.IdleTimeout = 0 }, "serve.idle_timeout:"},
		{"negative read timeout", func(c *Config) { c.Serve.ReadTimeout = -time.Second }, "serve.read_timeout:"},
		{"tiny header limit", func(c *Config) { c.Serve.MaxHeaderBytes = 10 }, "serve.max_header_bytes:"},
		{"no cap", func(c *Config) { c.Serve.MaxConnections, c.Serve.MaxConnectionsPerIP = -1, -1 }, ""},
		{"bad cap", func(c *Config) { c.Serve.MaxConnections = -2 }, "serve.max_connections:"},
		{"bad per-ip cap", func(c *Config) { c.Serve.MaxConnectionsPerIP = -5 }, "serve.max_connections_per_ip:"},
		{"cert without key", func(c *Config) { c.Serve.TLSCert = "c.pem" }, "serve.tls_cert"},
		{"cert and key", func(c *Config) { c.Serve.TLSCert, c.Serve.TLSKey = "c.pem", "k.pem" }, ""},
		{"public url ws", func(c *Config) { c.Serve.PublicURL = "wss://x.example" }, "serve.public_url:"},
		{"public url", func(c *Config) { c.Serve.PublicURL = "https://call.example.com" }, ""},
		{"origin with path", func(c *Config) { c.Serve.AllowedOrigins = []string{"https://a.example/x"} }, "serve.allowed_origins[0]:"},
		{"origins", func(c *Config) { c.Serve.AllowedOrigins = []string{"*", "https://a.example:8443"} }, ""},
		{"negative device limit", func(c *Config) { c.Serve.MaxDevicesPerUser = -1 }, "serve.max_devices_per_user:"},
		{"negative call rate", func(c *Config) { c.Serve.CallRate = -0.5 }, "serve.call_rate:"},
		{"rate without burst", func(c *Config) { c.Serve.CallBurst = 0 }, "serve.call_burst:"},
		{"negative pending limit", func(c *Config) { c.Serve.MaxPendingInvitations = -2 }, "serve.max_pending_invitations:"},
		{"negative invitation size", func(c *Config) { c.Serve.MaxInvitationBytes = -1 }, "serve.max_invitation_bytes:"},
		{"no-answer mode", func(c *Config) { c.Bot.Mode = BotNoAnswer }, ""},
		{"negative delay", func(c *Config) { c.Bot.AnswerDelay = -1 }, "bot.answer_delay:"},
		{"negative max", func(c *Config) { c.Bot.MaxDuration = -1 }, "bot.max_duration:"},
		{"bad allow", func(c *Config) { c.Bot.Allow = []string{"ok", "n/o"} }, "bot.allow[1]:"},
		{"bad contact", func(c *Config) { c.Contacts = []string{""} }, "contacts[0]:"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := Default()
			tc.modify(&c)
			err := c.Validate()
			switch {
			case tc.want == "" && err != nil:
				t.Errorf("Validate() = %v, want nil", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Errorf("Validate() = %v, want an error containing %q", err, tc.want)
			}
		})
	}

	c := Default()
	c.SDKAppID, c.Bot.Mode = 0, "x"
	err := c.Validate()
	if err == nil || !strings.Contains(err.Error(), "sdkappid") || !strings.Contains(err.Error(), "bot.mode") {
		t.Errorf("Validate() = %v, want both problems reported", err)
	}
}

func TestURLs(t *testing.T) {
	for _, tc := range []struct{ in, ws, http string }{
		{"http://127.0.0.1:7480", "ws://127.0.0.1:7480/v1/ws", "http://127.0.0.1:7480"},
		{"127.0.0.1:7480", "ws://127.0.0.1:7480/v1/ws", "http://127.0.0.1:7480"}, // no scheme: http
		{"localhost:7480/", "ws://localhost:7480/v1/ws", "http://localhost:7480"},
		{"http://127.0.0.1:7480/", "ws://127.0.0.1:7480/v1/ws", "http://127.0.0.1:7480"},
		{"https://call.example", "wss://call.example/v1/ws", "https://call.example"},
		{"ws://h:1", "ws://h:1/v1/ws", "http://h:1"},
		{"wss://h/v1/ws", "wss://h/v1/ws", "https://h"},
		{"https://h/termcall/ws", "wss://h/termcall/ws", "https://h/termcall/ws"},
		{"https://h/prefix/v1/ws", "wss://h/prefix/v1/ws", "https://h/prefix"},
	} {
		ws, err := WebSocketURL(tc.in)
		if err != nil || ws != tc.ws {
			t.Errorf("WebSocketURL(%q) = %q, %v, want %q, nil", tc.in, ws, err, tc.ws)
		}
		h, err := HTTPURL(tc.in)
		if err != nil || h != tc.http {
			t.Errorf("HTTPURL(%q) = %q, %v, want %q, nil", tc.in, h, err, tc.http)
		}
	}
	for _, bad := range []string{"", "ftp://h", ":7480", "http://", "://x"} {
		if got, err := WebSocketURL(bad); err == nil {
			t.Errorf("WebSocketURL(%q) = %q, nil, want an error", bad, got)
		}
		if got, err := HTTPURL(bad); err == nil {
			t.Errorf("HTTPURL(%q) = %q, nil, want an error", bad, got)
		}
	}
	// A list of servers (the engine fails over): REST calls go to the first.
	if h, err := HTTPURL("https://n1/ , http://n2:7482"); err != nil || h != "https://n1" {
		t.Errorf("HTTPURL(a list) = %q, %v; want the first, https://n1", h, err)
	}
}

// TestObsKeys: the log and metrics keys are in the sample, come from the
// environment and are validated.
func TestObsKeys(t *testing.T) {
	data, err := os.ReadFile("../config.yaml.example")
	if err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{"\nlog_level:", "\nlog_format:", "  metrics_listen:"} {
		if !strings.Contains(string(data), key) {
			t.Errorf("config.yaml.example has no key %q", strings.TrimSpace(key))
		}
	}
	got, err := Load("", env(map[string]string{EnvLogLevel: "debug", EnvLogFormat: "json", EnvMetricsListen: "127.0.0.1:9100"}))
	if err != nil {
		t.Fatal(err)
	}
	want := Default()
	want.LogLevel, want.LogFormat, want.Serve.MetricsListen = "debug", "json", "127.0.0.1:9100"
	if diff := cmp.Diff(got, want); diff != "" {
		t.Errorf("Load (-got +want):\n%s", diff)
	}
	for _, tc := range []struct {
		name   string
		modify func(*Config)
		want   string
	}{
		{"levels", func(c *Config) { c.LogLevel = "warn" }, ""},
		{"bad level", func(c *Config) { c.LogLevel = "verbose" }, "log_level:"},
		{"json", func(c *Config) { c.LogFormat = "json" }, ""},
		{"bad format", func(c *Config) { c.LogFormat = "xml" }, "log_format:"},
		{"metrics listen", func(c *Config) { c.Serve.MetricsListen = "127.0.0.1:9100" }, ""},
		{"bad metrics listen", func(c *Config) { c.Serve.MetricsListen = "9100" }, "serve.metrics_listen:"},
		{"metrics on the main listener", func(c *Config) { c.Serve.MetricsListen = c.Serve.Listen }, "serve.metrics_listen:"},
		{"both on free ports", func(c *Config) { c.Serve.Listen, c.Serve.MetricsListen = "127.0.0.1:0", "127.0.0.1:0" }, ""},
	} {
		c := Default()
		tc.modify(&c)
		err := c.Validate()
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%s: Validate() = %v, want nil", tc.name, err)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("%s: Validate() = %v, want an error containing %q", tc.name, err, tc.want)
		}
	}
}

// --- kit: control, push, settings ---

func TestKitValidation(t *testing.T) {
	for _, tt := range []struct {
		name string
		mod  func(*Config)
		want string
	}{
		{"beauty", func(c *Config) { c.Video.Beauty = 9.5 }, "video.beauty"},
		{"blur", func(c *Config) { c.Video.Blur = 4 }, "video.blur"}, // --- seg ---
		{"webhook", func(c *Config) { c.Serve.PushWebhook = "ftp://x" }, "serve.push_webhook"},
		{"retries", func(c *Config) { c.Serve.PushRetries = 21 }, "serve.push_retries"},
		{"queue", func(c *Config) { c.Serve.PushQueue = -1 }, "serve.push_queue"},
		{"timeout", func(c *Config) { c.Serve.PushTimeout = 0 }, "serve.push_timeout"},
		{"min timeout", func(c *Config) { c.Serve.MinInviteTimeout = 1500 * time.Millisecond }, "serve.min_invite_timeout"},
	} {
		c := Default()
		tt.mod(&c)
		if err := c.Validate(); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: %v, want an error naming %s", tt.name, err, tt.want)
		}
	}
	c, err := Load("", func(k string) string {
		return map[string]string{EnvStateFile: "/tmp/s.json", EnvPushSecret: "k", EnvMinInviteTimeout: "2s", EnvPushWebhook: "https://h.example/x"}[k]
	})
	if err != nil || c.StateFile != "/tmp/s.json" || c.Serve.PushSecret != "k" || c.Serve.MinInviteTimeout != 2*time.Second ||
		c.Serve.PushWebhook != "https://h.example/x" {
		t.Errorf("env: %+v %v", c.Serve, err)
	}
	if err := c.Validate(); err != nil {
		t.Errorf("valid kit config: %v", err)
	}
}
