// Package config holds termcall's typed configuration: the YAML file, the
// TERMCALL_* environment variables and the defaults.
//
// Settings are resolved with the precedence
//
//	flag > environment > file > default
//
// Load applies the last three; the caller (the CLI) applies its flags on top
// of the returned Config and then calls Validate. The file uses snake_case
// keys; an unknown key is an error, so a typo never silently falls back to
// a default. config.yaml.example at the repository root documents every key.
//
// This package deliberately depends on nothing but the standard library,
// gopkg.in/yaml.v3 and termcall's protocol package, so servers, bots and
// tests can use it without pulling in the terminal UI.
package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"

	"gopkg.in/yaml.v3"

	"github.com/termcall/termcall/protocol"
)

// Defaults.
const (
	DefaultServer      = "http://127.0.0.1:7480"
	DefaultSDKAppID    = 1400000001 // the development application
	DefaultListen      = "127.0.0.1:7480"
	DefaultData        = "termcall-data"
	DefaultKeepalive   = 5 * time.Second
	DefaultGracePeriod = 15 * time.Second
	DefaultAdminUser   = "administrator"
	DefaultBotMode     = BotAnswer

	// Edge defaults (serve.*): the HTTP listener's timeouts and header
	// limit. The connection caps default to 0 (derived at start-up).
	DefaultReadHeaderTimeout = 10 * time.Second
	DefaultReadTimeout       = 30 * time.Second
	DefaultWriteTimeout      = 30 * time.Second
	DefaultIdleTimeout       = 30 * time.Second
	DefaultMaxHeaderBytes    = 16 << 10

	// WebSocketPath is the server's WebSocket endpoint, used when the
	// server URL has no path of its own.
	WebSocketPath = "/v1/ws"
)

// Bot modes: how `termcall bot` treats an incoming call.
const (
	BotAnswer   = "answer"    // accept it (after AnswerDelay)
	BotReject   = "reject"    // reject it
	BotBusy     = "busy"      // reply line busy
	BotNoAnswer = "no-answer" // let it ring until the caller times out
)

// EchoCancellers lists the valid Audio.EchoCanceller values (audio's
// EchoCancellers; config does not import audio, a cgo package).
func EchoCancellers() []string { return []string{"aec3", "webrtc", "speex"} }

// BotModes lists the valid Bot.Mode values.
func BotModes() []string { return []string{BotAnswer, BotReject, BotBusy, BotNoAnswer} }

// Config is the whole configuration. Field comments name the YAML key and
// the environment variable, where there is one.
type Config struct {
	// Server is the URL clients connect to (http, https, ws or wss).
	// TERMCALL_SERVER.
	Server string `yaml:"server"`
	// CAFile is a PEM file of CA certificates trusted, besides the
	// system's, for wss:// and https:// servers (a private CA).
	// TERMCALL_CA_FILE.
	CAFile string `yaml:"ca_file"`
	// SDKAppID is the application ID userSigs are issued for.
	// TERMCALL_SDKAPPID.
	SDKAppID uint64 `yaml:"sdkappid"`
	// User is the userId to log in as. TERMCALL_USER.
	User string `yaml:"user"`
	// UserSig is the credential for User. TERMCALL_USERSIG.
	UserSig string `yaml:"usersig"`
	// Secret is the application's signing key. Development only: it lets
	// clients sign their own userSigs; the server needs it to verify them.
	// TERMCALL_SECRET.
	Secret string `yaml:"secret"`
	// MultiDevice lets the user stay logged in on several devices at once
	// instead of kicking the older login. TERMCALL_MULTI_DEVICE.
	MultiDevice bool `yaml:"multi_device"`
	// LogFile receives the debug log; empty means no log. TERMCALL_LOG_FILE.
	LogFile string `yaml:"log_file"`
	// LogLevel is the lowest level logged: debug, info, warn or error;
	// empty means the command's own (info for serve, warn for the others;
	// debug into log_file). TERMCALL_LOG_LEVEL.
	LogLevel string `yaml:"log_level"`
	// LogFormat is text (key=value lines) or json (one JSON object a line);
	// empty means text. TERMCALL_LOG_FORMAT.
	LogFormat string `yaml:"log_format"`
	// Serve configures `termcall serve`.
	Serve Serve `yaml:"serve"`
	// Store configures where `termcall serve` keeps its durable state.
	Store Store `yaml:"store"`
	// Cluster configures `termcall serve` as a node of a cluster.
	Cluster Cluster `yaml:"cluster"`
	// Bot configures `termcall bot`.
	Bot Bot `yaml:"bot"`
	// Audio configures sound devices and ringtones.
	Audio Audio `yaml:"audio"`
	// TUI configures the interactive UI (the Kit settings).
	TUI TUI `yaml:"tui"`
	// Video configures cameras and video drawing.
	Video Video `yaml:"video"`
	// Contacts are userIds offered for completion and quick dialling.
	Contacts []string `yaml:"contacts"`

	// --- cluster-ops: client failover ---

	// --- kit: control, push, settings ---

	// StateFile is where the TUI keeps the settings changed on its
	// settings screen (internal/state); empty means
	// $XDG_STATE_HOME/termcall/state.json, else
	// ~/.local/state/termcall/state.json; "off" keeps nothing.
	// TERMCALL_STATE_FILE.
	StateFile string `yaml:"state_file"`
}

// Serve configures the server.
type Serve struct {
	// Listen is the host:port to listen on. TERMCALL_LISTEN.
	Listen string `yaml:"listen"`
	// Data is the directory holding the server's database. TERMCALL_DATA.
	Data string `yaml:"data"`
	// Keepalive is the ping interval; a peer silent for twice as long is
	// dropped.
	Keepalive time.Duration `yaml:"keepalive"`
	// GracePeriod is how long a dropped device may reconnect and resume its
	// calls before it is taken out of them.
	GracePeriod time.Duration `yaml:"grace_period"`
	// AdminUser is the userId allowed to use administrative requests.
	AdminUser string `yaml:"admin_user"`
	// UDPPort is the one UDP port all media uses; 0 picks a free port.
	UDPPort int `yaml:"udp_port"`
	// MediaIP is the address the media port binds; empty means all IPv4
	// addresses.
	MediaIP string `yaml:"media_ip"`
	// PublicIP is the address announced to clients when the server is
	// behind a 1:1 NAT; empty announces the bound addresses.
	PublicIP string `yaml:"public_ip"`
	// NoDirectSockets keeps all media on the one shared socket of the
	// media port: no connected socket per device (docs/operations.md,
	// "Direct sockets"; Linux 6.13 and later only).
	NoDirectSockets bool `yaml:"no_direct_sockets"`

	// --- edge: listeners, timeouts, connection caps, TLS, origins ---

	// ReadHeaderTimeout, ReadTimeout, WriteTimeout and IdleTimeout are
	// the HTTP listener's timeouts: reading a request's header, reading
	// the whole request, writing the answer, and keeping an idle
	// keep-alive connection open. WebSockets are not cut by them.
	ReadHeaderTimeout time.Duration `yaml:"read_header_timeout"`
	ReadTimeout       time.Duration `yaml:"read_timeout"`
	WriteTimeout      time.Duration `yaml:"write_timeout"`
	IdleTimeout       time.Duration `yaml:"idle_timeout"`
	// MaxHeaderBytes limits the size of a request's header.
	MaxHeaderBytes int `yaml:"max_header_bytes"`
	// MaxConnections caps the open TCP connections (HTTP and WebSocket);
	// 0 derives it from the open-file limit, -1 means no cap.
	MaxConnections int `yaml:"max_connections"`
	// MaxConnectionsPerIP caps them per source IP address; 0 is an
	// eighth of max_connections, -1 no cap.
	MaxConnectionsPerIP int `yaml:"max_connections_per_ip"`
	// TLSCert and TLSKey are PEM files: with them the server speaks https
	// and wss (reloaded on SIGHUP).
	TLSCert string `yaml:"tls_cert"`
	TLSKey  string `yaml:"tls_key"`
	// PublicURL is the URL browsers use to reach the server, like
	// https://call.example.com (the page's CSP, the WebSocket origin
	// check). TERMCALL_PUBLIC_URL.
	PublicURL string `yaml:"public_url"`
	// AllowedOrigins are further browser origins (scheme://host[:port],
	// or "*") allowed to open the WebSocket.
	AllowedOrigins []string `yaml:"allowed_origins"`
	// NoMedia runs signaling only, without the media relay.
	NoMedia bool `yaml:"no_media"`

	// --- limits: per user and per call ---
	// For each limit, 0 means no limit (docs/operations.md, "Limits").
	// MaxDevicesPerUser bounds the devices one user has logged in at once
	// (multi-device); more are refused with 7002.
	MaxDevicesPerUser int `yaml:"max_devices_per_user"`
	// CallRate is how many call, groupCall and inviteUser requests one user
	// may make per second, on average; more are refused with 7003.
	CallRate float64 `yaml:"call_rate"`
	// CallBurst is how many such requests may come at once.
	CallBurst int `yaml:"call_burst"`
	// MaxPendingInvitations bounds the invitations a callee has not
	// answered (cancelled ones count until their ring timeout); more are
	// refused with 7004.
	MaxPendingInvitations int `yaml:"max_pending_invitations"`
	// MaxInvitationBytes bounds userData plus offlinePushInfo (as JSON) of
	// one invitation; more is refused with 7005.
	MaxInvitationBytes int `yaml:"max_invitation_bytes"`

	// --- store durability ---

	// --- observability: logs and metrics ---

	// MetricsListen, if set, is a host:port serving GET /metrics alone;
	// the main listener then does not serve it. Empty serves /metrics on
	// the main listener. TERMCALL_METRICS_LISTEN.
	MetricsListen string `yaml:"metrics_listen"`

	// --- kit: offline push (server side) ---

	// PushWebhook, if set, is an operator's URL that receives every
	// offline push (a webhook POST), besides the endpoints users register.
	// TERMCALL_PUSH_WEBHOOK.
	PushWebhook string `yaml:"push_webhook"`
	// PushSecret is the HMAC-SHA256 key signing webhook pushes (header
	// X-Termcall-Signature); empty sends them unsigned.
	// TERMCALL_PUSH_SECRET.
	PushSecret string `yaml:"push_secret"`
	// PushTimeout bounds one delivery attempt.
	PushTimeout time.Duration `yaml:"push_timeout"`
	// PushRetries is how many times a failed delivery is tried again, with
	// exponential backoff from 1 s.
	PushRetries int `yaml:"push_retries"`
	// PushQueue bounds the pushes waiting for delivery; more are dropped
	// (and counted). 0 turns offline push off.
	PushQueue int `yaml:"push_queue"`
	// PushAllowPrivate lets pushes go to loopback and private addresses;
	// off, endpoints that resolve to them are refused (users must not
	// make the server reach inside its network).
	PushAllowPrivate bool `yaml:"push_allow_private"`
	// MinInviteTimeout is the lowest invitation timeout the server
	// accepts: the reference's 10 s by default (its range is 10 s..600 s,
	// 0 meaning 30 s); lower only for tests. TERMCALL_MIN_INVITE_TIMEOUT.
	MinInviteTimeout time.Duration `yaml:"min_invite_timeout"`

	// --- perf ---
}

// Store configures the server's database.
type Store struct {
	// Database, if set, is a PostgreSQL URL (postgres://user:pass@host/db):
	// the server keeps users, groups and call records there instead of
	// the SQLite file in serve.data (which then holds only the lock
	// file). Empty means SQLite. TERMCALL_DATABASE.
	Database string `yaml:"database"`
}

// Cluster configures cluster mode (docs/cluster.md, "Running a node").
type Cluster struct {
	// NATS, if set, is the NATS URL (nats://host:4222, JetStream on;
	// several servers of one NATS cluster separated by commas): the
	// server runs as a cluster node. Empty means single-node mode.
	// TERMCALL_NATS.
	NATS string `yaml:"nats"`
	// NodeID names this node in the cluster; empty means the host name.
	// Two nodes on one host need their own. TERMCALL_NODE_ID.
	NodeID string `yaml:"node_id"`

	// --- cluster-ops ---

	// Replicas is how many replicas the cluster's JetStream KV buckets get
	// when a node creates them: 1 (or 0) on one NATS server, 3 on a
	// 3-server NATS cluster (docs/cluster.md, "Production layout"); at
	// most 5, JetStream's limit. Buckets that exist keep theirs.
	Replicas int `yaml:"replicas"`

	// --- route ---
}

// Default limits (Serve, "limits").
const (
	DefaultMaxDevicesPerUser     = 10
	DefaultCallRate              = 10.0
	DefaultCallBurst             = 20
	DefaultMaxPendingInvitations = 20
	DefaultMaxInvitationBytes    = 8 << 10
)

// Offline push defaults (Serve, "kit: offline push").
const (
	DefaultPushTimeout = 5 * time.Second
	DefaultPushRetries = 4
	DefaultPushQueue   = 1000
)

// TUI configures the interactive UI: the reference's Kit settings.
type TUI struct {
	// Lang is the UI language: en, zh-cn or ja_JP; empty follows $LANG.
	Lang string `yaml:"lang"`
	// IncomingBanner shows incoming calls as a one-line banner first
	// (enableIncomingBanner).
	IncomingBanner bool `yaml:"incoming_banner"`
	// FloatWindow allows the compact one-line call view
	// (enableFloatWindow).
	FloatWindow bool `yaml:"float_window"`

	// --- kit: tui ---
}

// Video configures cameras and how remote video is drawn.
type Video struct {
	// Front and Back are the video sources of the two cameras
	// (OpenCamera / SwitchCamera): camera:[DEVICE], pattern:[WxH], or a
	// .y4m/.ivf file. An empty Front means the first camera, else the
	// test pattern; an empty Back means Front.
	Front string `yaml:"front"`
	Back  string `yaml:"back"`
	// Render forces how video is drawn in the terminal: truecolor, 256,
	// gray, ascii, kitty or sixel; empty detects it from the terminal.
	Render string `yaml:"render"`

	// --- kit: video ---

	// Beauty is the beauty (smoothing) level of the video sent, 0 (off)
	// to 9 (SetBeautyLevel).
	Beauty float64 `yaml:"beauty"`

	// --- seg: blur, background ---

	// Blur blurs the background behind the person in the video sent
	// (SetBlurBackground): 0 off, 1 low, 2 medium, 3 high.
	Blur int `yaml:"blur"`
	// Background replaces the background behind the person by this PNG
	// or JPEG picture (SetVirtualBackground); empty for none. It wins
	// over Blur.
	Background string `yaml:"background"`
}

// Audio configures the client's sound devices and ringtones.
type Audio struct {
	// Mic is the capture device (a name from `termcall devices`); empty
	// means the default.
	Mic string `yaml:"mic"`
	// Speakerphone is the playback device for the speakerphone route;
	// empty means the default.
	Speakerphone string `yaml:"speakerphone"`
	// Earpiece is the playback device for the earpiece (headset) route;
	// empty means the speakerphone device.
	Earpiece string `yaml:"earpiece"`
	// EchoCancellation turns echo cancellation and noise suppression of
	// the microphone on or off.
	EchoCancellation bool `yaml:"echo_cancellation"`
	// Ringtone is a WAV or Ogg/Opus file for incoming calls; empty means
	// the built-in ring.
	Ringtone string `yaml:"ringtone"`
	// MuteMode plays no ringtone for incoming calls.
	MuteMode bool `yaml:"mute_mode"`

	// --- kit: audio ---
	// AIVoice runs learned noise suppression (RNNoise) on what is sent
	// (the reference's enableAIVoice; --ai-voice). Default false.
	AIVoice bool `yaml:"ai_voice"`
	// EchoCanceller picks the echo canceller when echo_cancellation is
	// on: one of EchoCancellers(); "" means the default, aec3
	// (docs/audio.md, "Echo cancellation").
	EchoCanceller string `yaml:"echo_canceller"`

	// --- perf: audio ---
}

// Bot configures the answering bot.
type Bot struct {
	// Mode is one of BotModes().
	Mode string `yaml:"mode"`
	// AnswerDelay is how long the bot lets a call ring before answering.
	AnswerDelay time.Duration `yaml:"answer_delay"`
	// MaxDuration hangs up answered calls after this long; 0 means never.
	MaxDuration time.Duration `yaml:"max_duration"`
	// Allow restricts the callers the bot handles; empty means anyone.
	// Calls from others are rejected.
	Allow []string `yaml:"allow"`
}

// Default returns the configuration used when nothing else is set.
func Default() Config {
	return Config{
		Server:   DefaultServer,
		SDKAppID: DefaultSDKAppID,
		Serve: Serve{
			Listen:      DefaultListen,
			Data:        DefaultData,
			Keepalive:   DefaultKeepalive,
			GracePeriod: DefaultGracePeriod,
			AdminUser:   DefaultAdminUser,
			// --- edge ---
			ReadHeaderTimeout: DefaultReadHeaderTimeout,
			ReadTimeout:       DefaultReadTimeout,
			WriteTimeout:      DefaultWriteTimeout,
			IdleTimeout:       DefaultIdleTimeout,
			MaxHeaderBytes:    DefaultMaxHeaderBytes,
			// limits
			MaxDevicesPerUser:     DefaultMaxDevicesPerUser,
			CallRate:              DefaultCallRate,
			CallBurst:             DefaultCallBurst,
			MaxPendingInvitations: DefaultMaxPendingInvitations,
			MaxInvitationBytes:    DefaultMaxInvitationBytes,
			// --- kit: offline push ---
			PushTimeout: DefaultPushTimeout,
			PushRetries: DefaultPushRetries,
			PushQueue:   DefaultPushQueue,
			// --- kit: the reference's timeout range ---
			MinInviteTimeout: 10 * time.Second,
		},
		Bot:   Bot{Mode: DefaultBotMode},
		Audio: Audio{EchoCancellation: true},
		// FloatWindow is off by default, as the reference's enableFloatWindow.
		TUI: TUI{},
	}
}

// Environment variables.
const (
	EnvConfig      = "TERMCALL_CONFIG"
	EnvServer      = "TERMCALL_SERVER"
	EnvSDKAppID    = "TERMCALL_SDKAPPID"
	EnvUser        = "TERMCALL_USER"
	EnvUserSig     = "TERMCALL_USERSIG"
	EnvSecret      = "TERMCALL_SECRET"
	EnvMultiDevice = "TERMCALL_MULTI_DEVICE"
	EnvLogFile     = "TERMCALL_LOG_FILE"
	EnvListen      = "TERMCALL_LISTEN"
	EnvData        = "TERMCALL_DATA"
	EnvDatabase    = "TERMCALL_DATABASE"
	EnvNATS        = "TERMCALL_NATS"
	EnvNodeID      = "TERMCALL_NODE_ID"

	EnvLogLevel      = "TERMCALL_LOG_LEVEL"
	EnvLogFormat     = "TERMCALL_LOG_FORMAT"
	EnvMetricsListen = "TERMCALL_METRICS_LISTEN"
	EnvCAFile        = "TERMCALL_CA_FILE"
	EnvPublicURL     = "TERMCALL_PUBLIC_URL"

	// --- kit: control, push, settings ---
	EnvStateFile   = "TERMCALL_STATE_FILE"
	EnvPushWebhook = "TERMCALL_PUSH_WEBHOOK"
	EnvPushSecret  = "TERMCALL_PUSH_SECRET"
	// EnvMinInviteTimeout is serve.min_invite_timeout.
	EnvMinInviteTimeout = "TERMCALL_MIN_INVITE_TIMEOUT"
)

// Load returns the defaults overlaid with the config file and then with the
// TERMCALL_* environment variables. getenv is usually os.Getenv; nil means
// os.Getenv.
//
// The file is path if it is not empty, else $TERMCALL_CONFIG if set (both
// must exist), else the first of $XDG_CONFIG_HOME/termcall/config.yaml or
// ~/.config/termcall/config.yaml that exists; with none, only defaults and
// the environment apply. See Locate.
//
// Load does not validate: apply flags, then call Validate.
func Load(path string, getenv func(string) string) (Config, error) {
	if getenv == nil {
		getenv = os.Getenv
	}
	c := Default()
	file, err := Locate(path, getenv)
	if err != nil {
		return Config{}, err
	}
	if file != "" {
		data, err := os.ReadFile(file)
		if err != nil {
			return Config{}, fmt.Errorf("config: %w", err)
		}
		if err := decode(data, &c); err != nil {
			return Config{}, fmt.Errorf("config %s: %w", file, err)
		}
	}
	if err := c.ApplyEnv(getenv); err != nil {
		return Config{}, err
	}
	return c, nil
}

// Locate returns the config file Load would read, or "" when there is none.
// It fails when an explicitly named file (path or $TERMCALL_CONFIG) does not
// exist.
func Locate(path string, getenv func(string) string) (string, error) {
	if getenv == nil {
		getenv = os.Getenv
	}
	explicit := path
	if explicit == "" {
		explicit = getenv(EnvConfig)
	}
	if explicit != "" {
		if _, err := os.Stat(explicit); err != nil {
			return "", fmt.Errorf("config: %w", err)
		}
		return explicit, nil
	}
	var candidates []string
	if x := getenv("XDG_CONFIG_HOME"); x != "" {
		candidates = append(candidates, filepath.Join(x, "termcall", "config.yaml"))
	}
	if h := getenv("HOME"); h != "" {
		candidates = append(candidates, filepath.Join(h, ".config", "termcall", "config.yaml"))
	}
	for _, p := range candidates {
		_, err := os.Stat(p)
		if err == nil {
			return p, nil
		}
		if !errors.Is(err, fs.ErrNotExist) {
			return "", fmt.Errorf("config: %w", err)
		}
	}
	return "", nil
}

// Parse decodes YAML config data over the defaults, without looking at the
// environment.
func Parse(data []byte) (Config, error) {
	c := Default()
	if err := decode(data, &c); err != nil {
		return Config{}, fmt.Errorf("config: %w", err)
	}
	return c, nil
}

// decode overlays the YAML document in data onto c, rejecting unknown keys
// and more than one document.
func decode(data []byte, c *Config) error {
	d := yaml.NewDecoder(bytes.NewReader(data))
	d.KnownFields(true)
	if err := d.Decode(c); err != nil {
		if errors.Is(err, io.EOF) {
			return nil // empty file
		}
		return yamlError(err)
	}
	var extra yaml.Node
	if err := d.Decode(&extra); !errors.Is(err, io.EOF) {
		return errors.New("more than one YAML document")
	}
	return nil
}

var notFound = regexp.MustCompile(`^line (\d+): field (\S+) not found in type config\.(\w+)$`)

// yamlError rewrites yaml.v3's decoding errors in the file's terms: its
// "field x not found in type config.Serve" becomes `unknown key "x" in
// section "serve"`.
func yamlError(err error) error {
	var te *yaml.TypeError
	if !errors.As(err, &te) {
		return err
	}
	msgs := make([]string, len(te.Errors))
	for i, m := range te.Errors {
		if s := notFound.FindStringSubmatch(m); s != nil {
			where := "at the top level"
			switch s[3] {
			case "Serve":
				where = `in section "serve"`
			case "Bot":
				where = `in section "bot"`
			}
			m = fmt.Sprintf("line %s: unknown key %q %s", s[1], s[2], where)
		}
		msgs[i] = m
	}
	return errors.New(strings.Join(msgs, "; "))
}

// ApplyEnv overlays the TERMCALL_* variables that are set and not empty.
// A value that does not parse is an error naming the variable.
func (c *Config) ApplyEnv(getenv func(string) string) error {
	if getenv == nil {
		getenv = os.Getenv
	}
	str := func(name string, dst *string) {
		if v := getenv(name); v != "" {
			*dst = v
		}
	}
	str(EnvServer, &c.Server)
	str(EnvUser, &c.User)
	str(EnvUserSig, &c.UserSig)
	str(EnvSecret, &c.Secret)
	str(EnvLogFile, &c.LogFile)
	str(EnvListen, &c.Serve.Listen)
	str(EnvData, &c.Serve.Data)
	str(EnvDatabase, &c.Store.Database)
	str(EnvNATS, &c.Cluster.NATS)
	str(EnvNodeID, &c.Cluster.NodeID)
	str(EnvLogLevel, &c.LogLevel)
	str(EnvLogFormat, &c.LogFormat)
	str(EnvMetricsListen, &c.Serve.MetricsListen)
	str(EnvCAFile, &c.CAFile)
	str(EnvPublicURL, &c.Serve.PublicURL)
	// --- kit: control, push, settings ---
	str(EnvStateFile, &c.StateFile)
	str(EnvPushWebhook, &c.Serve.PushWebhook)
	str(EnvPushSecret, &c.Serve.PushSecret)
	if v := getenv(EnvMinInviteTimeout); v != "" {
		d, err := time.ParseDuration(strings.TrimSpace(v))
		if err != nil {
			return fmt.Errorf("config: %s=%q is not a duration (like 10s)", EnvMinInviteTimeout, v)
		}
		c.Serve.MinInviteTimeout = d
	}
	if v := getenv(EnvSDKAppID); v != "" {
		n, err := strconv.ParseUint(strings.TrimSpace(v), 10, 64)
		if err != nil {
			return fmt.Errorf("config: %s=%q is not a non-negative integer", EnvSDKAppID, v)
		}
		c.SDKAppID = n
	}
	if v := getenv(EnvMultiDevice); v != "" {
		b, ok := parseBool(v)
		if !ok {
			return fmt.Errorf("config: %s=%q is not a boolean (use true or false)", EnvMultiDevice, v)
		}
		c.MultiDevice = b
	}
	return nil
}

// validateDatabase checks store.database: empty, or a postgres:// URL
// with a host. It never echoes the URL, which may hold a password.
func validateDatabase(v string) error {
	if v == "" {
		return nil
	}
	u, err := url.Parse(v)
	if err != nil {
		return errors.New("not a valid URL (postgres://user:password@host:5432/dbname)")
	}
	if u.Scheme != "postgres" && u.Scheme != "postgresql" {
		return fmt.Errorf("scheme %q is not postgres:// (the only database besides the SQLite default; leave it empty for SQLite)", u.Scheme)
	}
	if u.Host == "" && u.Query().Get("host") == "" {
		return errors.New("no host (postgres://user:password@host:5432/dbname)")
	}
	return nil
}

// validateNATS checks cluster.nats: empty, or comma-separated nats://,
// tls://, ws:// or wss:// URLs with a host. It never echoes a URL, which
// may hold a password or token.
func validateNATS(v string) error {
	if v == "" {
		return nil
	}
	for _, part := range strings.Split(v, ",") {
		u, err := url.Parse(strings.TrimSpace(part))
		if err != nil {
			return errors.New("not a valid URL (nats://host:4222)")
		}
		switch u.Scheme {
		case "nats", "tls", "ws", "wss":
		default:
			return fmt.Errorf("scheme %q is not nats:// (or tls://, ws://, wss://)", u.Scheme)
		}
		if u.Hostname() == "" {
			return errors.New("no host (nats://host:4222)")
		}
	}
	return nil
}

// validateNodeID checks cluster.node_id: at most 128 printable characters
// without spaces (it appears in logs and metrics).
func validateNodeID(v string) error {
	if len(v) > 128 {
		return fmt.Errorf("%d bytes; at most 128", len(v))
	}
	for _, r := range v {
		if r <= ' ' || r == 0x7f || !unicode.IsPrint(r) {
			return fmt.Errorf("%q has a space or control character", v)
		}
	}
	return nil
}

func parseBool(s string) (value, ok bool) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "1", "t", "true", "yes", "y", "on":
		return true, true
	case "0", "f", "false", "no", "n", "off":
		return false, true
	}
	return false, false
}

// Validate reports every problem with c, joined into one error (nil when
// there is none). Problems are named by their YAML keys.
func (c Config) Validate() error {
	var errs []error
	bad := func(format string, args ...any) {
		errs = append(errs, fmt.Errorf(format, args...))
	}
	validateIdentity(c, bad)
	validateStorage(c, bad)
	validateServeLimits(c, bad)
	validateClientMedia(c, bad)
	validateBot(c, bad)
	validateObs(c, bad)
	validateKit(c, bad)
	return errors.Join(errs...)
}

// validateIdentity checks the client's server list, sdkappid and user.
func validateIdentity(c Config, bad func(string, ...any)) {
	for _, srv := range ServerList(c.Server) { // several: the engine fails over between them
		if _, err := WebSocketURL(srv); err != nil {
			bad("server: %v", err)
		}
	}
	if c.SDKAppID == 0 {
		bad("sdkappid: must not be 0")
	}
	if c.User != "" {
		if err := protocol.ValidateUserID(c.User); err != nil {
			bad("user: %v", err)
		}
	}
}

// validateStorage checks where the server listens and keeps its data, and the cluster keys.
func validateStorage(c Config, bad func(string, ...any)) {
	if err := validateListen(c.Serve.Listen); err != nil {
		bad("serve.listen: %v", err)
	}
	if c.Serve.Data == "" {
		bad("serve.data: must not be empty")
	}
	if err := validateDatabase(c.Store.Database); err != nil {
		bad("store.database: %v", err)
	}
	if err := validateNATS(c.Cluster.NATS); err != nil {
		bad("cluster.nats: %v", err)
	}
	if err := validateNodeID(c.Cluster.NodeID); err != nil {
		bad("cluster.node_id: %v", err)
	}
	// --- cluster-ops ---
	if r := c.Cluster.Replicas; r < 0 || r > 5 {
		bad("cluster.replicas: %d; want 1 to 5 (0: 1)", r)
	}
}

// validateServeLimits checks the server's timers, ports, addresses, edge and limits.
func validateServeLimits(c Config, bad func(string, ...any)) {
	if c.Serve.Keepalive <= 0 {
		bad("serve.keepalive: %v is not a positive duration", c.Serve.Keepalive)
	}
	if c.Serve.GracePeriod <= 0 {
		bad("serve.grace_period: %v is not a positive duration", c.Serve.GracePeriod)
	}
	if err := protocol.ValidateUserID(c.Serve.AdminUser); err != nil {
		bad("serve.admin_user: %v", err)
	}
	if c.Serve.UDPPort < 0 || c.Serve.UDPPort > 65535 {
		bad("serve.udp_port: %d is not a port number (0 picks one)", c.Serve.UDPPort)
	}
	validateMediaIPs(c.Serve, bad)
	validateEdge(c.Serve, bad)
	validateLimits(c.Serve, bad)
}

// validateMediaIPs checks the media relay's listen and public addresses.
func validateMediaIPs(s Serve, bad func(string, ...any)) {
	for _, ip := range []struct{ key, v string }{{"serve.media_ip", s.MediaIP}, {"serve.public_ip", s.PublicIP}} {
		if p := net.ParseIP(ip.v); ip.v != "" && (p == nil || p.To4() == nil) {
			bad("%s: %q is not an IPv4 address", ip.key, ip.v)
		}
	}
}

// validateLimits checks the per-user limits: numbers >= 0, 0 for none.
func validateLimits(s Serve, bad func(string, ...any)) {
	for _, l := range []struct {
		key string
		v   float64
	}{{"serve.max_devices_per_user", float64(s.MaxDevicesPerUser)}, {"serve.call_rate", s.CallRate},
		{"serve.call_burst", float64(s.CallBurst)}, {"serve.max_pending_invitations", float64(s.MaxPendingInvitations)},
		{"serve.max_invitation_bytes", float64(s.MaxInvitationBytes)}} {
		if l.v < 0 || math.IsNaN(l.v) || math.IsInf(l.v, 0) {
			bad("%s: %v must be a number >= 0 (0: no limit)", l.key, l.v)
		}
	}
	if s.CallRate > 0 && s.CallBurst == 0 {
		bad("serve.call_burst: must be at least 1 when serve.call_rate is set")
	}
}

// validateClientMedia checks the renderer, the TUI's language and the echo canceller.
func validateClientMedia(c Config, bad func(string, ...any)) {
	switch strings.ToLower(c.Video.Render) {
	case "", "truecolor", "256", "gray", "ascii", "kitty", "sixel":
	default:
		bad("video.render: %q is not one of truecolor, 256, gray, ascii, kitty, sixel", c.Video.Render)
	}
	switch c.TUI.Lang {
	case "", "en", "zh-cn", "ja_JP":
	default:
		bad("tui.lang: %q is not one of en, zh-cn, ja_JP", c.TUI.Lang)
	}
	// --- kit: audio (echo canceller) ---
	if c.Audio.EchoCanceller != "" && !slices.Contains(EchoCancellers(), c.Audio.EchoCanceller) {
		bad("audio.echo_canceller: %q is not one of %s", c.Audio.EchoCanceller, strings.Join(EchoCancellers(), ", "))
	}
}

// validateBot checks the bot's keys and the contacts.
func validateBot(c Config, bad func(string, ...any)) {
	switch c.Bot.Mode {
	case BotAnswer, BotReject, BotBusy, BotNoAnswer:
	default:
		bad("bot.mode: %q is not one of %s", c.Bot.Mode, strings.Join(BotModes(), ", "))
	}
	if c.Bot.AnswerDelay < 0 {
		bad("bot.answer_delay: %v is negative", c.Bot.AnswerDelay)
	}
	if c.Bot.MaxDuration < 0 {
		bad("bot.max_duration: %v is negative", c.Bot.MaxDuration)
	}
	for i, id := range c.Bot.Allow {
		if err := protocol.ValidateUserID(id); err != nil {
			bad("bot.allow[%d]: %v", i, err)
		}
	}
	for i, id := range c.Contacts {
		if err := protocol.ValidateUserID(id); err != nil {
			bad("contacts[%d]: %v", i, err)
		}
	}
}

// validateKit checks the kit's keys: beauty, blur, offline push and the invitation timeout floor.
func validateKit(c Config, bad func(string, ...any)) {
	// --- kit: control, push, settings ---
	if math.IsNaN(c.Video.Beauty) || c.Video.Beauty < 0 || c.Video.Beauty > 9 {
		bad("video.beauty: %v is not 0..9", c.Video.Beauty)
	}
	if c.Video.Blur < 0 || c.Video.Blur > 3 { // --- seg ---
		bad("video.blur: %d is not 0 (off), 1 (low), 2 (medium) or 3 (high)", c.Video.Blur)
	}
	validatePush(c.Serve, bad)
	if m := c.Serve.MinInviteTimeout; m%time.Second != 0 || m < time.Second || m > 600*time.Second {
		bad("serve.min_invite_timeout: %v is not whole seconds from 1s to 600s", m)
	}
}

// validatePush checks the offline push keys.
func validatePush(s Serve, bad func(string, ...any)) {
	if _, ok := httpURL(s.PushWebhook); s.PushWebhook != "" && !ok {
		bad("serve.push_webhook: %q is not an http(s) URL", s.PushWebhook)
	}
	if s.PushTimeout <= 0 {
		bad("serve.push_timeout: %v must be positive", s.PushTimeout)
	}
	if s.PushRetries < 0 || s.PushRetries > 20 {
		bad("serve.push_retries: %d is not 0..20", s.PushRetries)
	}
	if s.PushQueue < 0 {
		bad("serve.push_queue: %d is negative", s.PushQueue)
	}
}

// httpURL parses an http(s) URL with a host; ok is false for anything else.
func httpURL(raw string) (u *url.URL, ok bool) {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, false
	}
	return u, true
}

// Log levels and formats (log_level, log_format).
var (
	LogLevels  = []string{"debug", "info", "warn", "error"}
	LogFormats = []string{"text", "json"}
)

// validateObs checks the log and metrics keys.
func validateObs(c Config, bad func(string, ...any)) {
	if c.LogLevel != "" && !slices.Contains(LogLevels, c.LogLevel) {
		bad("log_level: %q is not one of %s", c.LogLevel, strings.Join(LogLevels, ", "))
	}
	if c.LogFormat != "" && !slices.Contains(LogFormats, c.LogFormat) {
		bad("log_format: %q is not one of %s", c.LogFormat, strings.Join(LogFormats, ", "))
	}
	if c.Serve.MetricsListen != "" {
		if err := validateListen(c.Serve.MetricsListen); err != nil {
			bad("serve.metrics_listen: %v", err)
		} else if c.Serve.MetricsListen == c.Serve.Listen && !strings.HasSuffix(c.Serve.Listen, ":0") {
			bad("serve.metrics_listen: %q is serve.listen too; leave it empty to serve /metrics there", c.Serve.MetricsListen)
		}
	}
}

// validateEdge checks the serve keys of the edge: timeouts, caps, TLS,
// public URL and origins.
func validateEdge(s Serve, bad func(format string, args ...any)) {
	validateEdgeCaps(s, bad)
	if (s.TLSCert == "") != (s.TLSKey == "") {
		bad("serve.tls_cert, serve.tls_key: set both or neither")
	}
	if u, ok := httpURL(s.PublicURL); s.PublicURL != "" && (!ok || u.User != nil) {
		bad("serve.public_url: %q is not http(s)://host[:port]", s.PublicURL)
	}
	for i, o := range s.AllowedOrigins {
		if o != "*" && !isOrigin(o) {
			bad("serve.allowed_origins[%d]: %q is not scheme://host[:port] or *", i, o)
		}
	}
}

// validateEdgeCaps checks the edge's timeouts, header size and
// connection caps.
func validateEdgeCaps(s Serve, bad func(format string, args ...any)) {
	for _, d := range []struct {
		key string
		v   time.Duration
	}{{"read_header_timeout", s.ReadHeaderTimeout}, {"read_timeout", s.ReadTimeout}, {"write_timeout", s.WriteTimeout}, {"idle_timeout", s.IdleTimeout}} {
		if d.v <= 0 {
			bad("serve.%s: %v is not a positive duration", d.key, d.v)
		}
	}
	if s.MaxHeaderBytes < 1<<10 || s.MaxHeaderBytes > 1<<20 {
		bad("serve.max_header_bytes: %d is not between 1024 and 1048576", s.MaxHeaderBytes)
	}
	if s.MaxConnections < -1 {
		bad("serve.max_connections: %d: use a positive number, 0 (automatic) or -1 (no cap)", s.MaxConnections)
	}
	if s.MaxConnectionsPerIP < -1 {
		bad("serve.max_connections_per_ip: %d: use a positive number, 0 (automatic) or -1 (no cap)", s.MaxConnectionsPerIP)
	}
}

// isOrigin reports whether o is a browser origin: scheme://host[:port],
// with no user, path (but "/"), query or fragment.
func isOrigin(o string) bool {
	u, err := url.Parse(o)
	if err != nil || u.Scheme == "" || u.Host == "" || u.User != nil {
		return false
	}
	return (u.Path == "" || u.Path == "/") && u.RawQuery == "" && u.Fragment == ""
}

func validateListen(addr string) error {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("%q is not host:port", addr)
	}
	if strings.ContainsAny(host, " /") {
		return fmt.Errorf("%q has a bad host", addr)
	}
	if n, err := strconv.ParseUint(port, 10, 16); err != nil || (n == 0 && port != "0") {
		return fmt.Errorf("%q has a bad port %q", addr, port)
	}
	return nil
}

// parseServer parses a server URL and checks its scheme and host.
func parseServer(server string) (*url.URL, error) {
	if server == "" {
		return nil, errors.New("server URL is empty")
	}
	if !strings.Contains(server, "://") {
		server = "http://" + server // host:port, as people type it
	}
	u, err := url.Parse(server)
	if err != nil {
		return nil, fmt.Errorf("bad server URL: %w", err)
	}
	switch u.Scheme {
	case "http", "https", "ws", "wss":
	default:
		return nil, fmt.Errorf("server URL %q: scheme must be http, https, ws or wss", server)
	}
	if u.Hostname() == "" {
		return nil, fmt.Errorf("server URL %q has no host", server)
	}
	return u, nil
}

// WebSocketURL returns the WebSocket URL for a server URL: http becomes ws
// and https becomes wss, and WebSocketPath is used when the URL has no path
// (or just "/"). A URL with a path is taken to name the endpoint itself.
func WebSocketURL(server string) (string, error) {
	u, err := parseServer(server)
	if err != nil {
		return "", err
	}
	switch u.Scheme {
	case "http":
		u.Scheme = "ws"
	case "https":
		u.Scheme = "wss"
	}
	if u.Path == "" || u.Path == "/" {
		u.Path, u.RawPath = WebSocketPath, ""
	}
	return u.String(), nil
}

// HTTPURL returns the base URL for REST calls to a server: ws becomes http
// and wss becomes https, a trailing WebSocketPath (as WebSocketURL adds) is
// removed, and so is a trailing slash, so callers can append "/v1/...".
// Of a list of servers it takes the first.
func HTTPURL(server string) (string, error) {
	u, err := parseServer(ServerList(server)[0])
	if err != nil {
		return "", err
	}
	switch u.Scheme {
	case "ws":
		u.Scheme = "http"
	case "wss":
		u.Scheme = "https"
	}
	u.Path = strings.TrimSuffix(strings.TrimSuffix(u.Path, WebSocketPath), "/")
	u.RawPath = ""
	return u.String(), nil
}

// --- cluster-ops: client failover ---

// ServerList splits a server setting into its URLs: `server` (and
// TERMCALL_SERVER, --server) may list several servers, the nodes of a
// cluster, separated by commas; the engine logs in to the first that
// answers and fails over to the next. Spaces around the commas are
// ignored. It always returns at least one element ("" for an empty
// setting, which WebSocketURL refuses).
func ServerList(server string) []string {
	parts := strings.Split(server, ",")
	for i := range parts {
		parts[i] = strings.TrimSpace(parts[i])
	}
	return parts
}
