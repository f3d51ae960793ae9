package packaging

import (
	"bytes"
	"compress/gzip"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"gopkg.in/yaml.v3"
)

// nfpmConfig is the part of nfpm.yaml the test reads.
type nfpmConfig struct {
	Depends  []string `yaml:"depends"`
	Contents []struct {
		Src  string `yaml:"src"`
		Dst  string `yaml:"dst"`
		Type string `yaml:"type"`
	} `yaml:"contents"`
	Scripts map[string]string `yaml:"scripts"`
}

// nfpmModule is the pinned nfpm scripts/release.sh runs (its NFPM= line).
func nfpmModule(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile("../scripts/release.sh")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^NFPM=(github\.com/goreleaser/nfpm/v2/cmd/nfpm@v[0-9.]+)$`).FindSubmatch(b)
	if m == nil {
		t.Fatal("scripts/release.sh has no NFPM=github.com/goreleaser/nfpm/v2/cmd/nfpm@vX.Y.Z line")
	}
	return string(m[1])
}

// TestDebPackage builds the .deb from nfpm.yaml with the pinned nfpm and a
// stage of stand-in files (one per src of the config), and checks with
// dpkg-deb what a user installing it gets: the control fields, the runtime
// library dependencies, every file at its place with its mode, the conffile
// and the maintainer scripts. It skips when dpkg-deb is missing or nfpm is
// not in the module cache (it never downloads: the module cache is its only proxy).
func TestDebPackage(t *testing.T) {
	if testing.Short() {
		t.Skip("builds nfpm and a package")
	}
	if _, err := exec.LookPath("dpkg-deb"); err != nil {
		t.Skip("dpkg-deb is not installed")
	}
	cfg := loadNFPMConfig(t)
	stage := stageFor(t, cfg)
	deb := buildDeb(t, stage)
	checkDebControl(t, deb)
	checkDebFiles(t, deb)
	checkDebScripts(t, deb)
}

// loadNFPMConfig reads nfpm.yaml and checks its runtime dependencies.
func loadNFPMConfig(t *testing.T) nfpmConfig {
	t.Helper()
	raw, err := os.ReadFile("nfpm.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var cfg nfpmConfig
	if err := yaml.Unmarshal(raw, &cfg); err != nil {
		t.Fatalf("nfpm.yaml: %v", err)
	}
	for _, want := range []string{"libopus0", "libopusfile0", "libvpx7", "libspeexdsp1", "libogg0", "libc6", "libwebrtc-audio-processing1", "libstdc++6", "libgcc-s1"} {
		if !strings.Contains(strings.Join(cfg.Depends, ","), want) {
			t.Errorf("nfpm.yaml: depends lacks %s", want)
		}
	}

	return cfg
}

// stageFor makes a stage with a stand-in for each file nfpm.yaml takes
// from it.
func stageFor(t *testing.T, cfg nfpmConfig) string {
	t.Helper()
	// The stage: a stand-in for each file nfpm.yaml takes from it.
	stage := t.TempDir()
	const stageVar = "${TERMCALL_STAGE}/"
	for _, c := range cfg.Contents {
		if !strings.HasPrefix(c.Src, stageVar) {
			t.Fatalf("nfpm.yaml: %s does not come from the stage", c.Src)
		}
		p := filepath.Join(stage, strings.TrimPrefix(c.Src, stageVar))
		if strings.HasSuffix(c.Src, "/") { // the man pages' directory
			for _, name := range []string{"termcall.1.gz", "termcall-call.1.gz"} {
				writeStage(t, filepath.Join(p, name), gzipped(t, ".TH TERMCALL 1\n"))
			}
			continue
		}
		writeStage(t, p, []byte("stand-in for "+c.Dst+"\n"))
	}

	return stage
}

// buildDeb runs nfpm from the module cache (skipping when it is not there)
// to package the stage for arm64 as version 1.2.3-rc.1.
func buildDeb(t *testing.T, stage string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	mod := nfpmModule(t)
	// The module cache as the only proxy: offline, and it fails when nfpm
	// was never downloaded.
	modcache, err := exec.Command("go", "env", "GOMODCACHE").Output()
	if err != nil {
		t.Fatal(err)
	}
	env := append(os.Environ(), "GOFLAGS=-mod=mod",
		"GOPROXY=file://"+filepath.Join(strings.TrimSpace(string(modcache)), "cache", "download"))
	version := exec.CommandContext(ctx, "go", "run", mod, "--version")
	version.Env = env
	if out, err := version.CombinedOutput(); err != nil {
		t.Skipf("%s is not runnable without network (not in the module cache?): %v\n%s", mod, err, out)
	}
	deb := filepath.Join(t.TempDir(), "termcall.deb")
	cmd := exec.CommandContext(ctx, "go", "run", mod, "package", "-f", "packaging/nfpm.yaml", "-p", "deb", "-t", deb)
	cmd.Dir = ".." // the scripts' paths are relative to the repository's root
	cmd.Env = append(append([]string(nil), env...), "TERMCALL_STAGE="+stage, "TERMCALL_ARCH=arm64", "TERMCALL_VERSION=1.2.3-rc.1")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("nfpm package: %v\n%s", err, out)
	}

	return deb
}

// checkDebControl checks the package's control fields and dependencies.
func checkDebControl(t *testing.T, deb string) {
	t.Helper()
	field := func(name string) string {
		out, err := exec.Command("dpkg-deb", "-f", deb, name).Output()
		if err != nil {
			t.Fatalf("dpkg-deb -f %s: %v", name, err)
		}
		return strings.TrimSpace(string(out))
	}
	got := map[string]string{}
	for _, f := range []string{"Package", "Version", "Architecture", "Section", "Priority", "Homepage"} {
		got[f] = field(f)
	}
	want := map[string]string{
		"Package": "termcall", "Version": "1.2.3~rc.1", "Architecture": "arm64",
		"Section": "net", "Priority": "optional", "Homepage": "https://github.com/termcall/termcall",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("control fields (-want +got):\n%s", diff)
	}
	deps := strings.Split(field("Depends"), ", ")
	sort.Strings(deps)
	if diff := cmp.Diff([]string{"libc6", "libgcc-s1", "libogg0", "libopus0", "libopusfile0", "libspeexdsp1", "libstdc++6", "libvpx7", "libwebrtc-audio-processing1"}, deps); diff != "" {
		t.Errorf("Depends (-want +got):\n%s", diff)
	}
}

// checkDebFiles checks the package's files and their modes.
func checkDebFiles(t *testing.T, deb string) {
	t.Helper()
	// Files and modes.
	out, err := exec.Command("dpkg-deb", "-c", deb).Output()
	if err != nil {
		t.Fatalf("dpkg-deb -c: %v", err)
	}
	files := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		f := strings.Fields(line)
		if len(f) >= 6 && !strings.HasPrefix(f[0], "d") {
			files[strings.TrimPrefix(f[len(f)-1], ".")] = f[0] + " " + f[1]
		}
	}
	wantFiles := map[string]string{
		"/usr/bin/termcall":                                  "-rwxr-xr-x root/root",
		"/lib/systemd/system/termcall.service":               "-rw-r--r-- root/root",
		"/etc/termcall/termcall.env":                         "-rw-r----- root/root",
		"/usr/share/man/man1/termcall.1.gz":                  "-rw-r--r-- root/root",
		"/usr/share/man/man1/termcall-call.1.gz":             "-rw-r--r-- root/root",
		"/usr/share/bash-completion/completions/termcall":    "-rw-r--r-- root/root",
		"/usr/share/zsh/vendor-completions/_termcall":        "-rw-r--r-- root/root",
		"/usr/share/fish/vendor_completions.d/termcall.fish": "-rw-r--r-- root/root",
		"/usr/share/doc/termcall/copyright":                  "-rw-r--r-- root/root",
		"/usr/share/doc/termcall/THIRD_PARTY_LICENSES.gz":    "-rw-r--r-- root/root",
		"/usr/share/doc/termcall/changelog.gz":               "-rw-r--r-- root/root",
	}
	if diff := cmp.Diff(wantFiles, files); diff != "" {
		t.Errorf("package files (-want +got):\n%s", diff)
	}
}

// checkDebScripts checks the control archive: the conffile and the
// maintainer scripts, as committed in packaging/deb and valid sh.
func checkDebScripts(t *testing.T, deb string) {
	t.Helper()
	// The control archive: the conffile and the maintainer scripts, as
	// committed in packaging/deb and valid sh.
	ctl := t.TempDir()
	if out, err := exec.Command("dpkg-deb", "-e", deb, ctl).CombinedOutput(); err != nil {
		t.Fatalf("dpkg-deb -e: %v\n%s", err, out)
	}
	conf, err := os.ReadFile(filepath.Join(ctl, "conffiles"))
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff("/etc/termcall/termcall.env", strings.TrimSpace(string(conf))); diff != "" {
		t.Errorf("conffiles (-want +got):\n%s", diff)
	}
	for _, s := range []string{"postinst", "prerm", "postrm"} {
		b, err := os.ReadFile(filepath.Join(ctl, s))
		if err != nil {
			t.Errorf("the package has no %s: %v", s, err)
			continue
		}
		src, err := os.ReadFile(filepath.Join("deb", s))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(b, src) {
			t.Errorf("the package's %s differs from packaging/deb/%s", s, s)
		}
		if out, err := exec.Command("sh", "-n", filepath.Join(ctl, s)).CombinedOutput(); err != nil {
			t.Errorf("sh -n %s: %v\n%s", s, err, out)
		}
	}
}

func writeStage(t *testing.T, path string, b []byte) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

func gzipped(t *testing.T, s string) []byte {
	t.Helper()
	var b bytes.Buffer
	w := gzip.NewWriter(&b)
	if _, err := w.Write([]byte(s)); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}
