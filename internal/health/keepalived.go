package health

import (
	"fmt"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"time"
)

// KeepalivedOptions describe one core's keepalived.conf.
type KeepalivedOptions struct {
	VIP        string // address with prefix length, e.g. 10.0.0.50/24
	Interface  string
	Priority   int // 1..254; the core that should normally hold the VIP gets the higher one
	RouterID   int // virtual_router_id, 1..255, the same on both cores and unique on the segment
	Advert     time.Duration
	Instance   string // vrrp_instance name
	Name       string // global_defs router_id (this node's name in keepalived's logs)
	HealthFile string // sqlgate -health-file
	// Sqlgate is the absolute path of the sqlgate binary (for the
	// healthcheck script and the notify hook).
	Sqlgate string
	// Healthcheck are extra arguments for `sqlgate healthcheck` (e.g.
	// "-user app -password app"); Script false leaves the script out.
	Healthcheck string
	Script      bool
	NotifyLog   string
	// UnicastSrc and UnicastPeers switch from multicast adverts to unicast
	// (networks that filter 224.0.0.18).
	UnicastSrc   string
	UnicastPeers []string
}

// Validate reports the first option keepalived would reject or that would
// make a core that never fails over.
func (o KeepalivedOptions) Validate() error {
	if _, err := netip.ParsePrefix(o.VIP); err != nil {
		return fmt.Errorf("-vip %q: want an address with its prefix length, e.g. 10.0.0.50/24", o.VIP)
	}
	if o.Interface == "" {
		return fmt.Errorf("-interface: name the interface that carries the VIP, e.g. eth0")
	}
	if o.Priority < 1 || o.Priority > 254 {
		return fmt.Errorf("-priority %d: must be 1..254 (255 is reserved for the address owner)", o.Priority)
	}
	if o.RouterID < 1 || o.RouterID > 255 {
		return fmt.Errorf("-router-id %d: must be 1..255", o.RouterID)
	}
	if o.Advert < 10*time.Millisecond || o.Advert > 255*time.Second || o.Advert%(10*time.Millisecond) != 0 {
		return fmt.Errorf("-advert %v: VRRPv3 counts in centiseconds, 0.01s..255s", o.Advert)
	}
	if o.HealthFile == "" && !o.Script {
		return fmt.Errorf("give -health-file, the healthcheck script, or both: without either keepalived never learns that sqlgate is down")
	}
	if o.HealthFile != "" && !strings.HasPrefix(o.HealthFile, "/") {
		return fmt.Errorf("-health-file %q: give an absolute path", o.HealthFile)
	}
	if !strings.HasPrefix(o.Sqlgate, "/") {
		return fmt.Errorf("-sqlgate %q: keepalived needs the absolute path of the sqlgate binary", o.Sqlgate)
	}
	for _, a := range append([]string{o.UnicastSrc}, o.UnicastPeers...) {
		if a == "" {
			continue
		}
		if _, err := netip.ParseAddr(a); err != nil {
			return fmt.Errorf("unicast address %q: %v", a, err)
		}
	}
	if len(o.UnicastPeers) > 0 && o.UnicastSrc == "" {
		return fmt.Errorf("-unicast-peers needs -unicast-src (this node's own address)")
	}
	return nil
}

// KeepalivedConfig returns a keepalived.conf for one core, every setting
// with the reason for it.
func KeepalivedConfig(o KeepalivedOptions) (string, error) {
	if o.Instance == "" {
		o.Instance = "sqlgate_vip"
	}
	if o.Name == "" {
		o.Name, _ = os.Hostname()
	}
	if err := o.Validate(); err != nil {
		return "", err
	}
	advert := strconv.FormatFloat(o.Advert.Seconds(), 'f', -1, 64)
	masterDown := 3*o.Advert + o.Advert*time.Duration(256-o.Priority)/256
	var b strings.Builder
	p := func(format string, a ...any) { fmt.Fprintf(&b, format, a...) }
	p("# keepalived.conf for the sqlgate core %s, from `sqlgate keepalived-config`.\n", o.Name)
	p("# Both cores run keepalived with the same virtual_router_id and VIP; the other\n")
	p("# core gets a lower -priority. keepalived -t -f <this file> checks it.\n\n")
	p("global_defs {\n")
	p("    router_id %s\n", o.Name)
	p("    # Scripts run as root, and only if no other user can change them.\n")
	p("    enable_script_security\n    script_user root\n")
	p("    # VRRPv3: VRRPv2 rounds advert_int to whole seconds; v3 allows the\n")
	p("    # sub-second adverts that make a takeover take well under a second.\n")
	p("    vrrp_version 3\n")
	p("    # The new holder announces the VIP with gratuitous ARPs at once and\n")
	p("    # again 1 s later, so clients and switches learn the move.\n")
	p("    vrrp_garp_master_repeat 3\n    vrrp_garp_master_delay 1\n")
	p("}\n\n")
	if o.HealthFile != "" {
		p("# sqlgate -health-file %s keeps this file at 0 while it serves and 1\n", o.HealthFile)
		p("# when it does not (paused, stopping, dead or hung: a guardian process\n")
		p("# writes 1 the moment sqlgate dies). keepalived watches it with inotify:\n")
		p("# no script is forked, and a change acts within milliseconds.\n")
		p("track_file sqlgate_health {\n")
		p("    file \"%s\"\n", o.HealthFile)
		p("    # weight 0: any value but 0 puts the instance in FAULT, which gives\n")
		p("    # the VIP away at once with a priority-0 advert.\n")
		p("    weight 0\n")
		p("    # A missing file means sqlgate has not started: fault until it says 0.\n")
		p("    init_file 1\n")
		p("}\n\n")
	}
	if o.Script {
		args := strings.TrimSpace(o.Healthcheck)
		if args != "" {
			args = " " + args
		}
		p("# The backstop: a real MySQL login, as a client sees the node. keepalived\n")
		p("# runs scripts at most once a second, so this catches what the status\n")
		p("# file cannot (a process that heart-beats but cannot serve), not a crash.\n")
		p("# fall 2: a planned stop drains its sessions for up to a second before it\n")
		p("# gives the VIP away; one failed login during that drain must not move it.\n")
		p("vrrp_script sqlgate_login {\n")
		p("    script \"%s healthcheck -timeout 500ms%s\"\n", o.Sqlgate, args)
		p("    interval 1\n    timeout 1\n    fall 2\n    rise 1\n")
		p("}\n\n")
	}
	p("vrrp_instance %s {\n", o.Instance)
	p("    # Both cores start as BACKUP with nopreempt: a node that comes back does\n")
	p("    # not take the VIP back. Every move of the VIP cuts the connections that\n")
	p("    # run through it, so the VIP moves only when its holder fails.\n")
	p("    state BACKUP\n    nopreempt\n")
	p("    interface %s\n", o.Interface)
	p("    virtual_router_id %d\n", o.RouterID)
	p("    priority %d\n", o.Priority)
	p("    # As the backup, this node replaces a crashed holder after 3 adverts\n")
	p("    # plus a skew that shrinks as the priority grows: %v here.\n", masterDown.Round(time.Millisecond))
	p("    advert_int %s\n", advert)
	if o.UnicastSrc != "" {
		p("    unicast_src_ip %s\n    unicast_peer {\n", o.UnicastSrc)
		for _, a := range o.UnicastPeers {
			p("        %s\n", a)
		}
		p("    }\n")
	}
	p("    virtual_ipaddress {\n        %s dev %s\n    }\n", o.VIP, o.Interface)
	if o.HealthFile != "" {
		p("    track_file {\n        sqlgate_health\n    }\n")
	}
	if o.Script {
		p("    track_script {\n        sqlgate_login\n    }\n")
	}
	if o.NotifyLog != "" {
		p("    # Every state change (MASTER, BACKUP, FAULT, STOP) is appended to a log\n")
		p("    # with a timestamp: who held the VIP when.\n")
		p("    notify \"%s keepalived-notify -log %s\"\n", o.Sqlgate, o.NotifyLog)
	}
	p("}\n")
	return b.String(), nil
}

// Notify appends one keepalived notify call (TYPE NAME STATE PRIORITY) to
// the log at path with a UTC timestamp.
func Notify(path string, args []string) error {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	line := time.Now().UTC().Format("2006-01-02T15:04:05.000000Z") + " " + strings.Join(args, " ") + "\n"
	_, err = f.WriteString(line)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}
