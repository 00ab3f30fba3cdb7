package lab

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"sqlgate/internal/lab/load"
	"sqlgate/internal/testbed"
)

// FailoverReport is what Failover measured.
type FailoverReport struct {
	From, To string
	Killed   time.Time // when the SIGKILL was sent
	// VIPMoved is the time from the kill until To held the VIP.
	VIPMoved time.Duration
	// Downtime is how long clients were cut off: the longest gap between
	// two successful statements of a worker around the kill.
	Downtime time.Duration
	// ServedAgain is the time from the kill until every worker had a
	// write sent after the kill acknowledged.
	ServedAgain time.Duration
	Load        load.Report
	// Missing counts acknowledged writes not on the primary (must be 0).
	Missing int
	// Restarted is how long the killed node took to serve again;
	// HoldersAfter who held the VIP once it was back.
	Restarted    time.Duration
	HoldersAfter []string
}

// Failover measures a crash of the VIP holder under load: workers write
// numbered rows through the VIP from the client namespace while the
// holder's sqlgate is SIGKILLed; keepalived moves the VIP to the other
// core; the report says how long clients were cut off, how many
// statements failed and whether every acknowledged write is on the
// primary. Then the killed node is started again with the same command,
// and it must come back as BACKUP, leaving exactly one VIP holder.
func (l *Lab) Failover(ctx context.Context, w io.Writer) (*FailoverReport, error) {
	if !l.NetNS() {
		return nil, fmt.Errorf("lab: failover needs the VIP, which needs root and network namespaces: this lab runs on loopback (%s); run `sudo make lab-down lab lab-failover`", l.st.Why)
	}
	from, err := l.VIPHolder()
	if err != nil {
		return nil, err
	}
	to := CoreA
	if from == CoreA {
		to = CoreB
	}
	if l.ProxyPID(to) == 0 || l.Health(to) != "0" {
		return nil, fmt.Errorf("lab: core %s is not serving (health %s): nothing could take over; see `sqlgate-lab status`", to, l.Health(to))
	}
	ld, err := l.warmLoad(ctx, w, 2*time.Second, true)
	if err != nil {
		return nil, err
	}
	defer ld.Stop()
	r := &FailoverReport{From: from, To: to}
	kill := time.Now()
	r.Killed = kill
	if err := l.KillProxy(from); err != nil {
		return nil, err
	}
	dead := time.Now() // the fault is in effect: see GapAround
	fmt.Fprintf(w, "SIGKILL sqlgate on %s (the VIP holder)\n", from)
	if _, err := l.WaitVIPHolder(to, 10*time.Second); err != nil {
		return nil, fmt.Errorf("lab: the VIP did not move to %s: %w", to, err)
	}
	r.VIPMoved = time.Since(kill)
	if err := ld.WaitWritesAfter(kill, 15*time.Second); err != nil {
		return nil, err
	}
	r.ServedAgain = time.Since(kill)
	time.Sleep(time.Second)
	r.Load = ld.Stop()
	r.Downtime = r.Load.GapAround(dead)
	if r.Missing, err = l.missing(ctx, r.Load); err != nil {
		return nil, err
	}

	t := time.Now()
	if err := l.StartProxy(from); err != nil {
		return nil, err
	}
	r.Restarted = time.Since(t)
	// nopreempt: the returning core must settle as BACKUP and leave the
	// VIP where it is.
	deadline := time.Now().Add(10 * time.Second)
	for l.VRRPState(from) != "BACKUP" && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	for i := 0; i < 10; i++ {
		if r.HoldersAfter, err = l.VIPHolders(); err != nil {
			return nil, err
		}
		if len(r.HoldersAfter) != 1 {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	return r, nil
}

// Print writes the report.
func (r *FailoverReport) Print(w io.Writer) {
	fmt.Fprintf(w, "\nfailover: sqlgate on %s SIGKILLed under load\n", r.From)
	fmt.Fprintf(w, "  VIP on %-3s after          %6d ms\n", r.To, r.VIPMoved.Milliseconds())
	fmt.Fprintf(w, "  clients cut off for       %6d ms  (longest gap between two successful statements of a worker)\n", r.Downtime.Milliseconds())
	fmt.Fprintf(w, "  every worker writing after%6d ms\n", r.ServedAgain.Milliseconds())
	fmt.Fprintf(w, "  statements acknowledged   %6d  (%d writes, %d reads)\n", r.Load.Writes+r.Load.Reads, r.Load.Writes, r.Load.Reads)
	fmt.Fprintf(w, "  statements failed         %6d  (outcome unknown: sent, then the connection broke)\n", r.Load.Failed())
	for _, e := range r.Load.TopErrors(3) {
		fmt.Fprintf(w, "      %s\n", e)
	}
	fmt.Fprintf(w, "  connection retries        %6d  (not failures: nothing was sent)\n", r.Load.ConnectRetries)
	fmt.Fprintf(w, "  acknowledged writes missing on the primary: %d\n", r.Missing)
	fmt.Fprintf(w, "  %s restarted and serving in %d ms; VIP holders now: %s\n", r.From, r.Restarted.Milliseconds(), holders(r.HoldersAfter))
}

func holders(h []string) string {
	switch len(h) {
	case 0:
		return "NONE"
	case 1:
		return h[0] + " (exactly one)"
	default:
		return strings.Join(h, " AND ") + " !!! SPLIT BRAIN"
	}
}

// missing counts r's acknowledged writes absent from the primary, read
// directly over its unix socket.
func (l *Lab) missing(ctx context.Context, r load.Report) (int, error) {
	db, err := l.bed.RootDB(l.bed.Primary)
	if err != nil {
		return 0, err
	}
	defer db.Close()
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	return r.Missing(ctx, db)
}

// PromoteReport is what Promote measured.
type PromoteReport struct {
	Old, New string
	Killed   time.Time // when the SIGKILL was sent
	// Promoted is the time from the kill until the replica was promoted
	// and the other repointed.
	Promoted time.Duration
	// FirstWrite is the time from the kill to the first acknowledged
	// write sent after it: necessarily on the new primary.
	FirstWrite time.Duration
	Downtime   time.Duration // the longest gap of a worker around the kill
	Load       load.Report
	Missing    int
	// Rejoin says how the old primary came back ("rejoined" or
	// "rebuilt"), in RejoinTook.
	Rejoin     string
	RejoinTook time.Duration
	// Writers is each proxy's ONLINE writer (hostgroup 10) at the end.
	Writers map[string][]string
}

// Promote kills the MariaDB primary (SIGKILL) under load through the lab's
// client address, promotes the most advanced replica, repoints the other,
// and measures when writes succeed again: sqlgate's monitor moves the new
// primary into the writer hostgroup when it sees read_only=0, with no
// configuration change. The old primary then rejoins as a replica (or is
// rebuilt from a dump if it had writes nobody received), so a later
// Promote finds three nodes again.
func (l *Lab) Promote(ctx context.Context, w io.Writer) (*PromoteReport, error) {
	old := l.bed.Primary
	if old.PID() == 0 {
		return nil, fmt.Errorf("lab: the primary %s is not running; see `sqlgate-lab status`", old.Name)
	}
	ld, err := l.warmLoad(ctx, w, 1500*time.Millisecond, false)
	if err != nil {
		return nil, err
	}
	defer ld.Stop()
	r := &PromoteReport{Old: old.Name, Writers: map[string][]string{}}
	kill := time.Now()
	r.Killed = kill
	if err := l.bed.KillNode(old); err != nil {
		return nil, err
	}
	dead := time.Now() // the fault is in effect: see GapAround
	fmt.Fprintf(w, "SIGKILL MariaDB primary %s (%s)\n", old.Name, old.Addr())
	np, err := l.bed.Failover(ctx)
	if err != nil {
		return nil, fmt.Errorf("lab: promoting a replica: %w", err)
	}
	r.Promoted = time.Since(kill)
	r.New = np.Name
	fmt.Fprintf(w, "promoted %s (%s), the most advanced replica; the other replica follows it\n", np.Name, np.Addr())
	if err := ld.WaitWritesAfter(kill, 20*time.Second); err != nil {
		return nil, err
	}
	time.Sleep(500 * time.Millisecond)
	r.Load = ld.Stop()
	r.Downtime = r.Load.GapAround(dead)
	if d, ok := r.Load.FirstWriteAfter(kill); ok {
		r.FirstWrite = d
	}
	if r.Missing, err = l.missing(ctx, r.Load); err != nil {
		return nil, err
	}

	t := time.Now()
	err = l.bed.Rejoin(ctx, old, 30*time.Second)
	r.Rejoin = "rejoined as a replica"
	if errors.Is(err, testbed.ErrDiverged) {
		fmt.Fprintf(w, "%s had writes no replica received (%v): rebuilding it from a dump of %s\n", old.Name, err, np.Name)
		err = l.bed.Rebuild(ctx, old)
		r.Rejoin = "rebuilt from a dump (it had writes no replica received)"
	}
	if err != nil {
		return nil, fmt.Errorf("lab: bringing %s back as a replica: %w", old.Name, err)
	}
	r.RejoinTook = time.Since(t)
	// sqlgate moves the old primary (read_only=1 now) to the readers;
	// wait until every node has exactly the new primary as its writer.
	want := np.Addr()
	deadline := time.Now().Add(15 * time.Second)
	for {
		ok := true
		for _, p := range Proxies {
			r.Writers[p], err = l.writers(ctx, p)
			if err != nil || len(r.Writers[p]) != 1 || r.Writers[p][0] != want {
				ok = false
			}
		}
		if ok || time.Now().After(deadline) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	return r, nil
}

// writers lists a proxy's ONLINE servers in hostgroup 10.
func (l *Lab) writers(ctx context.Context, node string) ([]string, error) {
	var out []string
	err := l.adminRows(ctx, node, "SELECT hostname, port FROM runtime_mysql_servers WHERE hostgroup_id = 10 AND status = 'ONLINE' ORDER BY hostname, port", func(r *sql.Rows) error {
		var h string
		var p int
		err := r.Scan(&h, &p)
		out = append(out, fmt.Sprintf("%s:%d", h, p))
		return err
	})
	return out, err
}

// Print writes the report.
func (r *PromoteReport) Print(w io.Writer) {
	fmt.Fprintf(w, "\npromote: MariaDB primary %s SIGKILLed under load, %s promoted\n", r.Old, r.New)
	fmt.Fprintf(w, "  promotion done after                 %6d ms  (replica drained its relay log, read_only=0, other replica repointed)\n", r.Promoted.Milliseconds())
	fmt.Fprintf(w, "  first write on the new primary after %6d ms  (sqlgate's monitor saw read_only=0)\n", r.FirstWrite.Milliseconds())
	fmt.Fprintf(w, "  clients cut off for                  %6d ms  (longest gap of a worker)\n", r.Downtime.Milliseconds())
	fmt.Fprintf(w, "  statements acknowledged              %6d  (%d writes, %d reads)\n", r.Load.Writes+r.Load.Reads, r.Load.Writes, r.Load.Reads)
	fmt.Fprintf(w, "  statements failed                    %6d  (outcome unknown)\n", r.Load.Failed())
	for _, e := range r.Load.TopErrors(3) {
		fmt.Fprintf(w, "      %s\n", e)
	}
	fmt.Fprintf(w, "  acknowledged writes missing on %s: %d  (semi-synchronous replication, AFTER_SYNC)\n", r.New, r.Missing)
	fmt.Fprintf(w, "  old primary %s %s in %d ms\n", r.Old, r.Rejoin, r.RejoinTook.Milliseconds())
	for _, p := range Proxies {
		fmt.Fprintf(w, "  writer on %-4s %s\n", p, strings.Join(r.Writers[p], ", "))
	}
}

// warmLoad starts the lab's client load (for up to a minute) and lets it
// run for warm before a fault, failing if it wrote nothing by then: a
// measurement of a fault needs writes on both sides of it. showNS names
// the namespace the load runs in.
func (l *Lab) warmLoad(ctx context.Context, w io.Writer, warm time.Duration, showNS bool) (*load.Load, error) {
	o := l.ClientLoad()
	o.Duration = time.Minute
	ld, err := load.Start(ctx, o)
	if err != nil {
		return nil, err
	}
	from := ""
	if showNS {
		from = " from " + o.NetNS
	}
	fmt.Fprintf(w, "load: %d workers writing numbered rows through %s%s\n", ld.Options().Workers, o.Addr, from)
	time.Sleep(warm)
	if r := ld.Report(); r.Writes == 0 {
		ld.Stop()
		return nil, fmt.Errorf("lab: the load wrote nothing in %v before the fault (connect errors: %d, last: %s; failures: %v)", warm, r.ConnectRetries, r.LastConnectError, r.TopErrors(3))
	}
	return ld, nil
}
