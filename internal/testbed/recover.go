package testbed

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// ErrDiverged is returned by Rejoin when a node has transactions the
// primary does not (an old primary's last writes that no replica received
// before it died): with gtid_strict_mode it cannot replicate again, and
// Rebuild is the way back.
var ErrDiverged = errors.New("the node has transactions the primary lacks")

// MostAdvancedReplica returns the running replica that has received the
// most of the primary's binlog (Gtid_IO_Pos, else gtid_slave_pos): the one
// to promote when the primary is lost, as it loses the fewest
// transactions.
func (b *Bed) MostAdvancedReplica(ctx context.Context) (*Node, error) {
	var best *Node
	var bestPos gtidPos
	for _, r := range b.Replicas {
		if r.PID() == 0 {
			continue
		}
		s, err := slaveField(ctx, r, "Gtid_IO_Pos")
		if err == nil && s == "" {
			s, err = queryString(ctx, r, "SELECT @@global.gtid_slave_pos")
		}
		if err != nil {
			return nil, fmt.Errorf("%s: reading its replication position: %w", r.Name, err)
		}
		p := parseGTIDs(s)
		if best == nil || p.ahead(bestPos) {
			best, bestPos = r, p
		}
	}
	if best == nil {
		return nil, fmt.Errorf("no running replica to promote (start one with StartNode)")
	}
	return best, nil
}

// Failover promotes the most advanced running replica (see Promote) and
// returns it. The old primary is left as it is: dead, or running and
// unfenced if it was alive (fence it yourself).
func (b *Bed) Failover(ctx context.Context) (*Node, error) {
	n, err := b.MostAdvancedReplica(ctx)
	if err != nil {
		return nil, err
	}
	return n, b.Promote(ctx, n)
}

// gtidPos is a MariaDB GTID list as sequence numbers per replication
// domain.
type gtidPos map[string]int64

func parseGTIDs(s string) gtidPos {
	p := gtidPos{}
	for _, g := range strings.Split(s, ",") {
		if d, _, seq, ok := splitGTID(g); ok && seq > p[d] {
			p[d] = seq
		}
	}
	return p
}

// ahead reports whether p has received more than q: more in total over
// the domains (a bed uses one domain, where this is exact).
func (p gtidPos) ahead(q gtidPos) bool {
	var a, b int64
	for _, v := range p {
		a += v
	}
	for _, v := range q {
		b += v
	}
	return a > b
}

// Rejoin makes n (typically an old primary after a failover) a read_only
// replica of the current primary: it starts n if it is not running,
// replicates from the primary by GTID and waits at most wait until n has
// caught up. A node with transactions the primary lacks fails with
// ErrDiverged (rebuild it with Rebuild).
func (b *Bed) Rejoin(ctx context.Context, n *Node, wait time.Duration) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if n == b.Primary {
		return fmt.Errorf("%s is the primary; rejoin another node", n.Name)
	}
	if err := b.StartNode(ctx, n); err != nil {
		return err
	}
	if err := b.checkNotDiverged(ctx, n); err != nil {
		return err
	}
	if err := b.Exec(ctx, n, "SET GLOBAL read_only=1; "+b.semiReplica()+"STOP SLAVE; SET GLOBAL gtid_slave_pos=@@gtid_current_pos;"+
		b.changeMaster(b.Primary)+"START SLAVE;"); err != nil {
		return err
	}
	return b.waitCaughtUp(ctx, n, wait)
}

// checkNotDiverged fails with ErrDiverged when n's binlog holds a
// transaction the primary's does not. gtid_binlog_state lists the last
// GTID of every (domain, server) pair a binlog has seen; as each server's
// sequence numbers only grow (gtid_strict_mode), the primary lacks one of
// n's transactions exactly when, for some pair, n's number is higher.
// MASTER_GTID_WAIT cannot tell: it compares sequence numbers only.
func (b *Bed) checkNotDiverged(ctx context.Context, n *Node) error {
	mine, err := queryString(ctx, n, "SELECT @@global.gtid_binlog_state")
	if err != nil {
		return fmt.Errorf("%s: %w", n.Name, err)
	}
	theirs, err := queryString(ctx, b.Primary, "SELECT @@global.gtid_binlog_state")
	if err != nil {
		return fmt.Errorf("%s (primary): %w", b.Primary.Name, err)
	}
	have := map[string]int64{}
	for _, g := range strings.Split(theirs, ",") {
		if d, srv, seq, ok := splitGTID(g); ok {
			have[d+"-"+srv] = seq
		}
	}
	for _, g := range strings.Split(mine, ",") {
		if d, srv, seq, ok := splitGTID(g); ok && seq > have[d+"-"+srv] {
			return fmt.Errorf("%s: %w (%s is not in %s's binlog): rebuild it", n.Name, ErrDiverged, strings.TrimSpace(g), b.Primary.Name)
		}
	}
	return nil
}

func splitGTID(g string) (domain, server string, seq int64, ok bool) {
	f := strings.Split(strings.TrimSpace(g), "-")
	if len(f) != 3 {
		return "", "", 0, false
	}
	seq, err := strconv.ParseInt(f[2], 10, 64)
	return f[0], f[1], seq, err == nil
}

// waitCaughtUp waits until n replicates without error and has applied
// everything the primary had when the wait began.
func (b *Bed) waitCaughtUp(ctx context.Context, n *Node, wait time.Duration) error {
	pos, err := queryString(ctx, b.Primary, "SELECT @@global.gtid_binlog_pos")
	if err != nil {
		return fmt.Errorf("%s (primary): %w", b.Primary.Name, err)
	}
	deadline := time.Now().Add(wait)
	for {
		for _, f := range []string{"Last_IO_Errno", "Last_SQL_Errno"} {
			errno, err := slaveField(ctx, n, f)
			if err != nil {
				return fmt.Errorf("%s: %w", n.Name, err)
			}
			if errno != "" && errno != "0" {
				msg, _ := slaveField(ctx, n, strings.Replace(f, "Errno", "Error", 1))
				if errno == "1236" || strings.Contains(msg, "not in the master's binlog") || strings.Contains(msg, "gtid_strict_mode") {
					return fmt.Errorf("%s: %w (error %s: %s): rebuild it", n.Name, ErrDiverged, errno, msg)
				}
				return fmt.Errorf("%s: replication error %s: %s", n.Name, errno, msg)
			}
		}
		// MASTER_GTID_WAIT compares sequence numbers only, which a
		// diverged node may have too: the IO thread must also be
		// connected (it fails at once on a position the primary lacks).
		io, err := slaveField(ctx, n, "Slave_IO_Running")
		if err != nil {
			return fmt.Errorf("%s: %w", n.Name, err)
		}
		if io == "Yes" {
			got, err := queryString(ctx, n, fmt.Sprintf("SELECT MASTER_GTID_WAIT('%s', 0.2)", pos))
			if err != nil {
				return fmt.Errorf("%s: %w", n.Name, err)
			}
			if got == "0" {
				return nil
			}
		} else {
			time.Sleep(20 * time.Millisecond)
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s: has not reached the primary's position %s after %v", n.Name, pos, wait)
		}
	}
}

// Rebuild wipes n and seeds it from a consistent dump of the primary
// (mariadb-dump --single-transaction --gtid, loaded without binary
// logging), then replicates from the primary. It is the way back for a
// node Rejoin refuses. It takes seconds: the dump, a fresh datadir and a
// restart.
func (b *Bed) Rebuild(ctx context.Context, n *Node) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if n == b.Primary {
		return fmt.Errorf("%s is the primary; rebuild another node", n.Name)
	}
	dump, err := binary("mariadb-dump")
	if err != nil {
		return err
	}
	client, err := binary("mariadb")
	if err != nil {
		return err
	}
	if err := n.signal(syscall.SIGKILL, 10*time.Second); err != nil {
		return err
	}
	for _, d := range []string{"data", "tmp"} {
		if err := os.RemoveAll(filepath.Join(n.Dir, d)); err != nil {
			return err
		}
	}
	if err := installData(ctx, n.Dir); err != nil {
		return fmt.Errorf("%s: %w", n.Name, err)
	}
	if err := b.StartNode(ctx, n); err != nil {
		return err
	}
	dbs, err := userDatabases(ctx, b.Primary)
	if err != nil {
		return err
	}
	// The mysql schema brings the accounts; its gtid_slave_pos table is
	// left out, as it would overwrite the position the dump sets.
	args := append([]string{"--socket=" + b.Primary.Socket, "--user=root", "--single-transaction", "--gtid",
		"--master-data=1", "--routines", "--events", "--triggers", "--flush-privileges",
		"--ignore-table=mysql.gtid_slave_pos", "--databases", "mysql"}, dbs...)
	dumpCmd := exec.CommandContext(ctx, dump, args...)
	loadCmd := exec.CommandContext(ctx, client, "--socket="+n.Socket, "--user=root", "--init-command=SET SESSION sql_log_bin=0")
	pipe, err := dumpCmd.StdoutPipe()
	if err != nil {
		return err
	}
	var dumpErr, loadOut strings.Builder
	dumpCmd.Stderr = &dumpErr
	loadCmd.Stdin = pipe
	loadCmd.Stdout, loadCmd.Stderr = &loadOut, &loadOut
	if err := dumpCmd.Start(); err != nil {
		return fmt.Errorf("%s: mariadb-dump of %s: %w", n.Name, b.Primary.Name, err)
	}
	lerr := loadCmd.Run()
	derr := dumpCmd.Wait()
	if derr != nil {
		return fmt.Errorf("%s: mariadb-dump of %s: %v: %s", n.Name, b.Primary.Name, derr, tail(dumpErr.String(), 10))
	}
	if lerr != nil {
		return fmt.Errorf("%s: loading the dump of %s: %v: %s", n.Name, b.Primary.Name, lerr, tail(loadOut.String(), 10))
	}
	// The dump set gtid_slave_pos to the primary's position at the dump.
	if err := b.Exec(ctx, n, "STOP SLAVE;"+b.changeMaster(b.Primary)+"START SLAVE;"); err != nil {
		return err
	}
	return b.waitCaughtUp(ctx, n, 30*time.Second)
}

// installData creates an empty datadir in dir/data with its own tmpdir
// (concurrent installs sharing one are known to crash).
func installData(ctx context.Context, dir string) error {
	if err := os.MkdirAll(filepath.Join(dir, "tmp"), 0o755); err != nil {
		return err
	}
	install, err := binary("mariadb-install-db")
	if err != nil {
		return err
	}
	cnf := filepath.Join(dir, "install.cnf")
	if err := os.WriteFile(cnf, []byte(fmt.Sprintf("[mariadbd]\n%sdatadir=%s/data\ntmpdir=%s/tmp\n", userLine(), dir, dir)), 0o644); err != nil {
		return err
	}
	defer os.Remove(cnf)
	cmd := exec.CommandContext(ctx, install, "--defaults-file="+cnf, "--auth-root-authentication-method=normal",
		"--skip-test-db", "--skip-name-resolve")
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("mariadb-install-db: %v\n%s", err, tail(string(out), 20))
	}
	return nil
}

// userDatabases lists the primary's databases but the system ones.
func userDatabases(ctx context.Context, p *Node) ([]string, error) {
	db, err := rootDB(p)
	if err != nil {
		return nil, err
	}
	defer db.Close()
	rows, err := db.QueryContext(ctx, "SELECT schema_name FROM information_schema.schemata WHERE schema_name NOT IN ('mysql', 'information_schema', 'performance_schema', 'sys')")
	if err != nil {
		return nil, fmt.Errorf("%s: listing databases: %w", p.Name, err)
	}
	defer rows.Close()
	var dbs []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			return nil, err
		}
		dbs = append(dbs, s)
	}
	return dbs, rows.Err()
}

// semiReplica is the statement that makes a node a semi-sync replica and
// not a semi-sync master (see StartNode), or "" without Options.SemiSync.
func (b *Bed) semiReplica() string {
	if !b.opt.SemiSync {
		return ""
	}
	return "SET GLOBAL rpl_semi_sync_master_enabled=0; SET GLOBAL rpl_semi_sync_slave_enabled=1; "
}
