// Package health tells keepalived whether this node should hold the
// virtual IP.
//
// Two signals serve two speeds. The status file (keepalived's track_file)
// is what sqlgate itself knows, written within 100 ms of a change: serving,
// paused, draining, stopped, no writer. keepalived watches it with inotify,
// so a change moves the VIP within one advert interval and no script is
// forked. A guardian process, started by sqlgate, owns the file: it writes
// a fault the moment sqlgate dies (its end of a pipe closes, even on
// SIGKILL) or stops sending its heartbeat, which no file written by
// sqlgate alone could do. The probe (`sqlgate healthcheck`) checks from
// outside what a client sees, a real MySQL login, for keepalived's
// vrrp_script: slower (keepalived runs scripts at most once a second), but
// it catches a process that heart-beats yet cannot serve.
package health

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// Status file contents, as keepalived's track_file with weight 0 reads
// them: 0 keeps the instance as it is, any other value puts it in FAULT,
// which gives the VIP away at once with a priority-0 advert.
const (
	fileHealthy = "0\n"
	fileFault   = "1\n"
)

// WriteFile sets the status file to healthy or fault. It writes a
// temporary file and renames it over path, so a reader never sees a
// partial value (keepalived re-reads the file on the inotify event of the
// rename).
func WriteFile(path string, healthy bool) error {
	v := fileFault
	if healthy {
		v = fileHealthy
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte(v), 0o644); err != nil {
		return fmt.Errorf("health file: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("health file: %w", err)
	}
	return nil
}

// ReadFile reports what the status file at path says: healthy only for
// the exact value 0, as keepalived reads it.
func ReadFile(path string) (healthy bool, err error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return false, err
	}
	return strings.TrimSpace(string(b)) == "0", nil
}

// CheckPath rejects a status file path whose directory does not exist, so
// a typo fails at start-up instead of leaving keepalived without a signal.
func CheckPath(path string) error {
	if path == "" {
		return nil
	}
	if !filepath.IsAbs(path) {
		return fmt.Errorf("-health-file %q: give an absolute path (keepalived reads it from its own working directory)", path)
	}
	dir := filepath.Dir(path)
	st, err := os.Stat(dir)
	if err != nil {
		return fmt.Errorf("-health-file %q: directory %s: %w", path, dir, err)
	}
	if !st.IsDir() {
		return fmt.Errorf("-health-file %q: %s is not a directory", path, dir)
	}
	return nil
}
