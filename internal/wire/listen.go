package wire

import (
	"fmt"
	"net"
	"os"
	"strings"
)

// ListenAll opens a listener for every entry of a ProxySQL interface list
// (mysql-interfaces, admin-mysql_ifaces): ';'-separated host:port pairs or
// Unix socket paths. name labels errors. On error no listener stays open.
func ListenAll(name, ifaces string) ([]net.Listener, error) {
	var lns []net.Listener
	for _, addr := range strings.Split(ifaces, ";") {
		addr = strings.TrimSpace(addr)
		if addr == "" {
			continue
		}
		network := "tcp"
		if strings.HasPrefix(addr, "/") {
			network = "unix"
			os.Remove(addr) // a stale socket from a previous run
		}
		ln, err := net.Listen(network, addr)
		if err != nil {
			for _, l := range lns {
				l.Close()
			}
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		lns = append(lns, ln)
	}
	if len(lns) == 0 {
		return nil, fmt.Errorf("%s is empty: nothing to listen on", name)
	}
	return lns, nil
}
