package lab

import (
	"context"
	"database/sql"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Status is a snapshot of the lab.
type Status struct {
	Dir, Mode, Prefix, Why string
	VIPHolders             []string // cores holding the VIP (netns mode)
	VIPErr                 error
	Proxies                []ProxyStatus
	DB                     []DBStatus
}

// ProxyStatus is one sqlgate node as seen from outside.
type ProxyStatus struct {
	Node, Role, Namespace, Addr string
	PID                         int
	Health                      string // the health file: 0, 1, missing, - (satellite)
	LoginErr                    error  // an app login through the node from the client namespace
	Keepalived                  int    // keepalived's PID (cores, netns mode)
	VRRP                        string // its last VRRP state
	Checksums                   []Checksum
	Servers                     []Server
	AdminErr                    error
}

// Checksum is one row of a node's runtime_checksums_values.
type Checksum struct {
	Name     string
	Version  int64
	Epoch    int64
	Checksum string
}

// Server is one row of a node's runtime_mysql_servers.
type Server struct {
	Hostgroup int
	Host      string
	Port      int
	Status    string
}

// DBStatus is one MariaDB node.
type DBStatus struct {
	Name, Addr, Role, ReadOnly, IO, SQL, GTID string
	PID                                       int
	Err                                       error
}

// Status gathers the lab's state; each node is asked in parallel, every
// question bounded by a couple of seconds.
func (l *Lab) Status(ctx context.Context) *Status {
	s := &Status{Dir: l.Dir, Mode: l.st.Mode, Prefix: l.st.Prefix, Why: l.st.Why}
	if l.NetNS() {
		s.VIPHolders, s.VIPErr = l.VIPHolders()
	}
	s.Proxies = make([]ProxyStatus, len(l.st.Proxies))
	var wg sync.WaitGroup
	for i, p := range l.st.Proxies {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s.Proxies[i] = l.proxyStatus(ctx, p)
		}()
	}
	if l.bed != nil {
		s.DB = make([]DBStatus, len(l.bed.Nodes))
		for i, n := range l.bed.Nodes {
			wg.Add(1)
			go func() {
				defer wg.Done()
				d := DBStatus{Name: n.Name, Addr: n.Addr(), PID: n.PID(), Role: "replica"}
				if n == l.bed.Primary {
					d.Role = "primary"
				}
				if d.PID != 0 {
					d.Err = l.dbStatus(ctx, n.Name, &d)
				}
				s.DB[i] = d
			}()
		}
	}
	wg.Wait()
	return s
}

func (l *Lab) proxyStatus(ctx context.Context, p proxyState) ProxyStatus {
	ps := ProxyStatus{Node: p.Name, Role: "satellite", Namespace: l.Namespace(p.Name), PID: l.ProxyPID(p.Name), Health: l.Health(p.Name)}
	ps.Addr, _ = l.ProxyAddr(p.Name)
	if p.Core {
		ps.Role = "core"
		if l.NetNS() {
			ps.Keepalived = l.keepalivedPID(p.Name).PID()
			ps.VRRP = l.VRRPState(p.Name)
		}
	}
	if ps.PID == 0 {
		return ps
	}
	ps.LoginErr = l.Login(ctx, p.Name)
	db, err := l.Admin(p.Name)
	if err != nil {
		ps.AdminErr = err
		return ps
	}
	defer db.Close()
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	ps.AdminErr = scanRows(ctx, db, "SELECT name, version, epoch, checksum FROM runtime_checksums_values ORDER BY name", func(r *sql.Rows) error {
		var c Checksum
		err := r.Scan(&c.Name, &c.Version, &c.Epoch, &c.Checksum)
		ps.Checksums = append(ps.Checksums, c)
		return err
	})
	if ps.AdminErr == nil {
		ps.AdminErr = scanRows(ctx, db, "SELECT hostgroup_id, hostname, port, status FROM runtime_mysql_servers ORDER BY hostgroup_id, hostname, port", func(r *sql.Rows) error {
			var s Server
			err := r.Scan(&s.Hostgroup, &s.Host, &s.Port, &s.Status)
			ps.Servers = append(ps.Servers, s)
			return err
		})
	}
	return ps
}

func scanRows(ctx context.Context, db *sql.DB, q string, f func(*sql.Rows) error) error {
	rows, err := db.QueryContext(ctx, q)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		if err := f(rows); err != nil {
			return err
		}
	}
	return rows.Err()
}

func (l *Lab) dbStatus(ctx context.Context, name string, d *DBStatus) error {
	var n = l.bed.Primary
	for _, m := range l.bed.Nodes {
		if m.Name == name {
			n = m
		}
	}
	db, err := l.bed.RootDB(n)
	if err != nil {
		return err
	}
	defer db.Close()
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	if err := db.QueryRowContext(ctx, "SELECT @@global.read_only, @@global.gtid_current_pos").Scan(&d.ReadOnly, &d.GTID); err != nil {
		return err
	}
	rows, err := db.QueryContext(ctx, "SHOW SLAVE STATUS")
	if err != nil {
		return err
	}
	defer rows.Close()
	cols, _ := rows.Columns()
	if rows.Next() {
		vals := make([]sql.NullString, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			return err
		}
		for i, c := range cols {
			switch c {
			case "Slave_IO_Running":
				d.IO = vals[i].String
			case "Slave_SQL_Running":
				d.SQL = vals[i].String
			}
		}
	}
	return rows.Err()
}

// Problems lists what is wrong in a status: no or two VIP holders, a
// process down, a node that does not serve, checksums that differ.
func (s *Status) Problems() []string {
	var out []string
	if s.Mode == modeNetNS {
		switch {
		case s.VIPErr != nil:
			out = append(out, "VIP: "+s.VIPErr.Error())
		case len(s.VIPHolders) == 0:
			out = append(out, "no core holds the VIP")
		case len(s.VIPHolders) > 1:
			out = append(out, fmt.Sprintf("SPLIT BRAIN: %d cores hold the VIP (%s)", len(s.VIPHolders), strings.Join(s.VIPHolders, ", ")))
		}
	}
	sums := map[string]map[string]bool{}
	for _, p := range s.Proxies {
		switch {
		case p.PID == 0:
			out = append(out, "sqlgate "+p.Node+" is not running")
			continue
		case p.LoginErr != nil:
			out = append(out, fmt.Sprintf("sqlgate %s: app login fails: %v", p.Node, p.LoginErr))
		case p.AdminErr != nil:
			out = append(out, fmt.Sprintf("sqlgate %s: admin: %v", p.Node, p.AdminErr))
		}
		if p.Role == "core" && p.Health != "0" {
			out = append(out, fmt.Sprintf("sqlgate %s: health file says %s", p.Node, p.Health))
		}
		if s.Mode == modeNetNS && p.Role == "core" && p.Keepalived == 0 {
			out = append(out, "keepalived "+p.Node+" is not running")
		}
		for _, c := range p.Checksums {
			if sums[c.Name] == nil {
				sums[c.Name] = map[string]bool{}
			}
			sums[c.Name][c.Checksum] = true
		}
	}
	var names []string
	for n, set := range sums {
		if len(set) > 1 {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	for _, n := range names {
		out = append(out, "cluster: "+n+" differs between the nodes")
	}
	for _, d := range s.DB {
		switch {
		case d.PID == 0:
			out = append(out, fmt.Sprintf("MariaDB %s (%s) is not running", d.Name, d.Role))
		case d.Err != nil:
			out = append(out, fmt.Sprintf("MariaDB %s: %v", d.Name, d.Err))
		case d.Role == "replica" && (d.IO != "Yes" || d.SQL != "Yes"):
			out = append(out, fmt.Sprintf("MariaDB %s: replication IO=%s SQL=%s", d.Name, d.IO, d.SQL))
		}
	}
	return out
}

// Print writes the status for people.
func (s *Status) Print(w io.Writer) {
	mode := "network namespaces " + s.Prefix + "*"
	if s.Mode != modeNetNS {
		mode = "loopback, no keepalived or VIP (" + s.Why + ")"
	}
	fmt.Fprintf(w, "sqlgate lab in %s (%s)\n", s.Dir, mode)
	if s.Mode == modeNetNS {
		switch {
		case s.VIPErr != nil:
			fmt.Fprintf(w, "VIP %s: %v\n", VIP, s.VIPErr)
		case len(s.VIPHolders) == 1:
			fmt.Fprintf(w, "VIP %s: held by %s\n", VIP, s.VIPHolders[0])
		case len(s.VIPHolders) == 0:
			fmt.Fprintf(w, "VIP %s: held by NO core\n", VIP)
		default:
			fmt.Fprintf(w, "VIP %s: !!! SPLIT BRAIN: held by %s !!!\n", VIP, strings.Join(s.VIPHolders, " AND "))
		}
	}
	fmt.Fprintf(w, "\nsqlgate nodes:\n")
	fmt.Fprintf(w, "  %-4s %-9s %-20s %-8s %-6s %-10s %s\n", "node", "role", "address", "pid", "health", "app login", "keepalived")
	for _, p := range s.Proxies {
		pid, login := "down", "-"
		if p.PID != 0 {
			pid, login = strconv.Itoa(p.PID), "ok"
			if p.LoginErr != nil {
				login = "FAILS"
			}
		}
		ka := "-"
		if p.Role == "core" && s.Mode == modeNetNS {
			ka = "down"
			if p.Keepalived != 0 {
				ka = fmt.Sprintf("pid %d %s", p.Keepalived, p.VRRP)
			}
		}
		fmt.Fprintf(w, "  %-4s %-9s %-20s %-8s %-6s %-10s %s\n", p.Node, p.Role, p.Addr, pid, p.Health, login, ka)
	}

	fmt.Fprintf(w, "\ncluster checksums (runtime_checksums_values: version/checksum):\n")
	var modules []string
	seen := map[string]bool{}
	byNode := map[string]map[string]Checksum{}
	for _, p := range s.Proxies {
		byNode[p.Node] = map[string]Checksum{}
		for _, c := range p.Checksums {
			byNode[p.Node][c.Name] = c
			if !seen[c.Name] {
				seen[c.Name] = true
				modules = append(modules, c.Name)
			}
		}
	}
	sort.Strings(modules)
	fmt.Fprintf(w, "  %-22s", "module")
	for _, p := range s.Proxies {
		fmt.Fprintf(w, " %-24s", p.Node)
	}
	fmt.Fprintln(w, " ")
	for _, m := range modules {
		fmt.Fprintf(w, "  %-22s", m)
		same := true
		var first string
		for i, p := range s.Proxies {
			c, ok := byNode[p.Node][m]
			cell := "-"
			if ok {
				cell = fmt.Sprintf("%d/%s", c.Version, c.Checksum)
			}
			if i == 0 {
				first = c.Checksum
			} else if c.Checksum != first {
				same = false
			}
			fmt.Fprintf(w, " %-24s", cell)
		}
		if same {
			fmt.Fprintln(w, " in sync")
		} else {
			fmt.Fprintln(w, " DIFFERS")
		}
	}
	for _, p := range s.Proxies {
		if p.AdminErr != nil {
			fmt.Fprintf(w, "  %s: admin: %v\n", p.Node, p.AdminErr)
		}
	}

	fmt.Fprintf(w, "\nbackends (runtime_mysql_servers on each node):\n")
	type key struct {
		hg   int
		addr string
	}
	var keys []key
	cell := map[key]map[string]string{}
	for _, p := range s.Proxies {
		for _, sv := range p.Servers {
			k := key{sv.Hostgroup, fmt.Sprintf("%s:%d", sv.Host, sv.Port)}
			if cell[k] == nil {
				cell[k] = map[string]string{}
				keys = append(keys, k)
			}
			cell[k][p.Node] = sv.Status
		}
	}
	sort.Slice(keys, func(i, j int) bool {
		return keys[i].hg < keys[j].hg || keys[i].hg == keys[j].hg && keys[i].addr < keys[j].addr
	})
	fmt.Fprintf(w, "  %-9s %-18s", "hostgroup", "server")
	for _, p := range s.Proxies {
		fmt.Fprintf(w, " %-14s", p.Node)
	}
	fmt.Fprintln(w)
	for _, k := range keys {
		fmt.Fprintf(w, "  %-9d %-18s", k.hg, k.addr)
		for _, p := range s.Proxies {
			st := cell[k][p.Node]
			if st == "" {
				st = "-"
			}
			fmt.Fprintf(w, " %-14s", st)
		}
		fmt.Fprintln(w)
	}

	where := ""
	if s.Mode == modeNetNS {
		where = " (namespace " + s.Prefix + "db)"
	}
	fmt.Fprintf(w, "\nMariaDB%s:\n", where)
	for _, d := range s.DB {
		switch {
		case d.PID == 0:
			fmt.Fprintf(w, "  %-6s %-18s %-8s DOWN\n", d.Name, d.Addr, d.Role)
		case d.Err != nil:
			fmt.Fprintf(w, "  %-6s %-18s %-8s pid %d: %v\n", d.Name, d.Addr, d.Role, d.PID, d.Err)
		default:
			repl := ""
			if d.IO != "" || d.SQL != "" {
				repl = fmt.Sprintf(" replication io=%s sql=%s", d.IO, d.SQL)
			}
			fmt.Fprintf(w, "  %-6s %-18s %-8s pid %-7d read_only=%s gtid=%s%s\n", d.Name, d.Addr, d.Role, d.PID, d.ReadOnly, d.GTID, repl)
		}
	}
	if p := s.Problems(); len(p) > 0 {
		fmt.Fprintf(w, "\nPROBLEMS:\n")
		for _, x := range p {
			fmt.Fprintf(w, "  - %s\n", x)
		}
	} else {
		fmt.Fprintf(w, "\nall well\n")
	}
}

// PrintConnect writes the commands to reach the lab.
func (l *Lab) PrintConnect(w io.Writer) {
	fmt.Fprintf(w, "\nconnect:\n")
	if l.NetNS() {
		fmt.Fprintf(w, "  application, through the VIP:  ip netns exec %sclient mariadb -h %s -P%d -uapp -papp\n", l.st.Prefix, VIP, MySQLPort)
		for _, p := range l.st.Proxies {
			fmt.Fprintf(w, "  admin of %-4s                  ip netns exec %s%s mariadb -h127.0.0.1 -P%d -uadmin -padmin\n", p.Name, l.st.Prefix, p.Name, p.Admin)
		}
		fmt.Fprintf(w, "  MariaDB primary (root)         mariadb -S %s -uroot\n", l.bed.Primary.Socket)
	} else {
		a, _ := l.proxy(CoreA)
		fmt.Fprintf(w, "  application, through core a:   mariadb -h127.0.0.1 -P%d -uapp -papp\n", a.MySQL)
		for _, p := range l.st.Proxies {
			fmt.Fprintf(w, "  admin of %-4s                  mariadb -h127.0.0.1 -P%d -uadmin -padmin\n", p.Name, p.Admin)
		}
		fmt.Fprintf(w, "  MariaDB primary (root)         mariadb -S %s -uroot\n", l.bed.Primary.Socket)
	}
	fmt.Fprintf(w, "  logs and configuration         %s/{a,b,sat}/, %s/db/\n", l.Dir, l.Dir)
}
