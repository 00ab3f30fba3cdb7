package testbed

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"time"

	"sqlgate/internal/proc"
)

// layoutFile is the bed's record of itself in Bed.Dir.
const layoutFile = "bed.json"

// layout is what a later process needs to take a bed over: where every
// node lives and which one is the primary now.
type layout struct {
	Replicas   int
	ServerArgs []string `json:",omitempty"`
	SemiSync   bool
	TLS        bool
	NetNS      string `json:",omitempty"`
	Host       string `json:",omitempty"`
	Bind       string `json:",omitempty"`
	BasePort   int    `json:",omitempty"`
	Nodes      []nodeLayout
	Primary    string
}

type nodeLayout struct {
	Name, Host, Socket, Dir string
	Port                    int
}

// save writes the layout, atomically (a rename), so an Open never reads
// half a file.
func (b *Bed) save() error {
	l := layout{Replicas: b.opt.Replicas, ServerArgs: b.opt.ServerArgs, SemiSync: b.opt.SemiSync, TLS: b.opt.TLS,
		NetNS: b.opt.NetNS, Host: b.opt.Host, Bind: b.opt.Bind, BasePort: b.opt.BasePort, Primary: b.Primary.Name}
	for _, n := range b.Nodes {
		l.Nodes = append(l.Nodes, nodeLayout{Name: n.Name, Host: n.Host, Socket: n.Socket, Dir: n.Dir, Port: n.Port})
	}
	data, err := json.MarshalIndent(l, "", "  ")
	if err != nil {
		return err
	}
	p := filepath.Join(b.Dir, layoutFile)
	if err := os.WriteFile(p+".tmp", append(data, '\n'), 0o644); err != nil {
		return fmt.Errorf("testbed: recording the layout: %w", err)
	}
	return os.Rename(p+".tmp", p)
}

// Open takes over the bed in dir that an earlier Start (maybe by another
// process) created: its nodes, ports and current primary as they were last
// recorded. Nodes are controlled by the PIDs in their pid files; Stop,
// StopNode, KillNode and StartNode work as on a bed this process started.
// Open does not remove dir on Stop.
func Open(dir string) (*Bed, error) {
	data, err := os.ReadFile(filepath.Join(dir, layoutFile))
	if err != nil {
		return nil, fmt.Errorf("testbed: %s is not a bed (start one with testbed.Start): %w", dir, err)
	}
	var l layout
	if err := json.Unmarshal(data, &l); err != nil {
		return nil, fmt.Errorf("testbed: %s: %w", filepath.Join(dir, layoutFile), err)
	}
	b := &Bed{Dir: dir, opt: Options{Replicas: l.Replicas, Dir: dir, ServerArgs: l.ServerArgs, SemiSync: l.SemiSync,
		TLS: l.TLS, NetNS: l.NetNS, Host: l.Host, Bind: l.Bind, BasePort: l.BasePort}}
	for _, nl := range l.Nodes {
		n := &Node{Name: nl.Name, Host: nl.Host, Port: nl.Port, Socket: nl.Socket, Dir: nl.Dir}
		b.Nodes = append(b.Nodes, n)
		if n.Name == l.Primary {
			b.Primary = n
		} else {
			b.Replicas = append(b.Replicas, n)
		}
	}
	if b.Primary == nil {
		return nil, fmt.Errorf("testbed: %s names primary %q, which is not one of its nodes", filepath.Join(dir, layoutFile), l.Primary)
	}
	return b, nil
}

// Options returns the options the bed was started with.
func (b *Bed) Options() Options { return b.opt }

// pidFile is the node's mariadbd pid file, valid only while that process
// is alive and runs this node's my.cnf. mariadbd leaves its pid file
// behind when it is killed, and the kernel may have given the PID to
// another process since: the command line tells them apart.
func (n *Node) pidFile() proc.PIDFile {
	return proc.PIDFile{File: filepath.Join(n.Dir, "mariadbd.pid"), Mark: "--defaults-file=" + n.cnf()}
}

// pidFromFile returns the PID of the node's running mariadbd, else 0.
func (n *Node) pidFromFile() int { return n.pidFile().PID() }

// signalByPIDFile signals a node this process did not start and waits
// until it is gone, with SIGKILL after wait.
func (n *Node) signalByPIDFile(sig syscall.Signal, wait time.Duration) error {
	return n.pidFile().Stop(n.Name, sig, wait)
}
