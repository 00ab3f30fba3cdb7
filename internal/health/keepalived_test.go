package health

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func validOptions() KeepalivedOptions {
	return KeepalivedOptions{
		VIP: "10.0.0.50/24", Interface: "eth0", Priority: 150, RouterID: 51, Advert: 100 * time.Millisecond,
		Name: "core-a", HealthFile: "/run/sqlgate/health", Sqlgate: "/usr/bin/sqlgate", Script: true,
		Healthcheck: "-user monitor -password secret", NotifyLog: "/var/log/sqlgate-vrrp.log",
	}
}

func TestKeepalivedConfigRejects(t *testing.T) {
	for _, tc := range []struct {
		name string
		mod  func(*KeepalivedOptions)
		err  string
	}{
		{"vip without prefix", func(o *KeepalivedOptions) { o.VIP = "10.0.0.50" }, "prefix length"},
		{"no interface", func(o *KeepalivedOptions) { o.Interface = "" }, "-interface"},
		{"priority 255", func(o *KeepalivedOptions) { o.Priority = 255 }, "1..254"},
		{"router id 0", func(o *KeepalivedOptions) { o.RouterID = 0 }, "1..255"},
		{"advert 5ms", func(o *KeepalivedOptions) { o.Advert = 5 * time.Millisecond }, "centiseconds"},
		{"advert 0.105s", func(o *KeepalivedOptions) { o.Advert = 105 * time.Millisecond }, "centiseconds"},
		{"no signal", func(o *KeepalivedOptions) { o.HealthFile, o.Script = "", false }, "never learns"},
		{"relative health file", func(o *KeepalivedOptions) { o.HealthFile = "health" }, "absolute"},
		{"relative binary", func(o *KeepalivedOptions) { o.Sqlgate = "sqlgate" }, "absolute path"},
		{"peers without src", func(o *KeepalivedOptions) { o.UnicastPeers = []string{"10.0.0.12"} }, "-unicast-src"},
		{"bad peer", func(o *KeepalivedOptions) { o.UnicastSrc, o.UnicastPeers = "10.0.0.11", []string{"b"} }, "unicast address"},
	} {
		o := validOptions()
		tc.mod(&o)
		_, err := KeepalivedConfig(o)
		if err == nil || !strings.Contains(err.Error(), tc.err) {
			t.Errorf("%s: err = %v; want it to contain %q", tc.name, err, tc.err)
		}
	}
}

// TestKeepalivedConfigParses has the real keepalived check every variant
// of the generated file.
func TestKeepalivedConfigParses(t *testing.T) {
	ka, err := exec.LookPath("keepalived")
	if err != nil {
		if _, err2 := os.Stat("/usr/sbin/keepalived"); err2 != nil {
			t.Skip("keepalived is not installed (apt-get install keepalived)")
		}
		ka = "/usr/sbin/keepalived"
	}
	dir := t.TempDir()
	for _, tc := range []struct {
		name string
		mod  func(*KeepalivedOptions)
		want []string
	}{
		{"default", func(*KeepalivedOptions) {}, []string{"vrrp_version 3", "advert_int 0.1", "nopreempt", "track_file {", "sqlgate_login", "weight 0", "keepalived-notify -log"}},
		{"file only", func(o *KeepalivedOptions) { o.Script, o.NotifyLog = false, "" }, []string{"track_file {"}},
		{"script only", func(o *KeepalivedOptions) { o.HealthFile = "" }, []string{"track_script {"}},
		{"unicast", func(o *KeepalivedOptions) { o.UnicastSrc, o.UnicastPeers = "10.0.0.11", []string{"10.0.0.12"} }, []string{"unicast_peer {", "10.0.0.12"}},
		{"advert 1.5s", func(o *KeepalivedOptions) { o.Advert = 1500 * time.Millisecond }, []string{"advert_int 1.5"}},
	} {
		o := validOptions()
		// keepalived -t checks that the scripts exist and, with
		// enable_script_security, that only root can change them: a
		// root-owned binary stands in for sqlgate.
		o.Sqlgate = "/bin/true"
		tc.mod(&o)
		conf, err := KeepalivedConfig(o)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		for _, w := range tc.want {
			if !strings.Contains(conf, w) {
				t.Errorf("%s: config lacks %q", tc.name, w)
			}
		}
		p := filepath.Join(dir, tc.name+".conf")
		os.WriteFile(p, []byte(conf), 0o644)
		if out, err := exec.Command(ka, "-t", "-f", p).CombinedOutput(); err != nil {
			t.Errorf("%s: keepalived -t: %v\n%s\n%s", tc.name, err, out, conf)
		}
	}
}

func TestNotify(t *testing.T) {
	p := filepath.Join(t.TempDir(), "vrrp.log")
	Notify(p, []string{"INSTANCE", "sqlgate_vip", "MASTER", "150"})
	Notify(p, []string{"INSTANCE", "sqlgate_vip", "FAULT", "150"})
	b, _ := os.ReadFile(p)
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if len(lines) != 2 || !strings.HasSuffix(lines[0], " INSTANCE sqlgate_vip MASTER 150") || !strings.HasSuffix(lines[1], "FAULT 150") {
		t.Fatalf("log = %q", b)
	}
	if _, err := time.Parse("2006-01-02T15:04:05.000000Z", strings.Fields(lines[0])[0]); err != nil {
		t.Fatalf("timestamp: %v", err)
	}
}
