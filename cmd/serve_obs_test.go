package cmd_test

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
)

// TestServeJSONLogsAndMetricsListen: serve --log-format json writes JSON
// log lines with the login and call fields and no warning on a correct
// configuration; --metrics-listen serves /metrics there and not on --listen.
func TestServeJSONLogsAndMetricsListen(t *testing.T) {
	t.Parallel()
	p := start(t, "", true, "serve", "--listen", "127.0.0.1:0", "--data", t.TempDir(), "--keepalive", "1s",
		"--log-format", "json", "--metrics-listen", "127.0.0.1:0")
	srv := "http://" + strings.TrimSpace(strings.TrimPrefix(p.waitLine(t, "termcall serve listening on "), "termcall serve listening on "))
	metrics := "http://" + strings.TrimSpace(strings.TrimPrefix(p.waitLine(t, "termcall serve metrics on "), "termcall serve metrics on ")) + "/metrics"

	startBot(t, srv, "ans", "--mode", "answer")
	if r := run(t, srv, "call", "ans", "--json", "--user", "c1", "--duration", "1s"); r.code != 0 {
		t.Fatalf("call: exit code %d\n%s", r.code, r.stderr)
	}
	end := p.waitLine(t, `"msg":"call end"`)
	var l map[string]any
	if err := json.Unmarshal([]byte(end), &l); err != nil {
		t.Fatalf("call end line is not JSON: %v\n%s", err, end)
	}
	if l["reason"] != "hangup" || l["by"] != "c1" || l["answered"] != true || l["scene"] != "single" || l["mediaType"] != "audio" {
		t.Errorf("call end line %v", l)
	}

	checkJSONLogLines(t, p.out.String())
	checkMetricsListen(t, srv, metrics)
}

// checkJSONLogLines checks the server's JSON log: every line JSON at INFO
// on a correct configuration, c1's login line with its device and remote.
func checkJSONLogLines(t *testing.T, out string) {
	t.Helper()
	for _, line := range strings.Split(out, "\n") {
		if !strings.HasPrefix(line, "{") {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Errorf("log line is not JSON: %q", line)
			continue
		}
		if m["level"] != "INFO" {
			t.Errorf("%v line on a correct configuration: %s", m["level"], line)
		}
		if m["msg"] == "login" && m["user"] == "c1" && (m["device"] == "" || m["remote"] == "") {
			t.Errorf("login line %s", line)
		}
	}
}

// checkMetricsListen checks that the metrics address serves the ended call
// and the signaling address serves no /metrics.
func checkMetricsListen(t *testing.T, srv, metrics string) {
	t.Helper()
	resp, err := http.Get(metrics)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(body), `termcall_calls_ended_total{answered="true",media_type="audio",reason="hangup",scene="single"} 1`) {
		t.Errorf("metrics page lacks the ended call:\n%s", body)
	}
	resp, err = http.Get(srv + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("GET /metrics on --listen: status %d, want 404", resp.StatusCode)
	}
}
