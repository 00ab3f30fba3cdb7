package config

// Move is one change ReplicationMoves made.
type Move struct {
	Add       bool // added to Hostgroup; false: removed from it
	Hostgroup int
	Demoted   bool // removed from a writer hostgroup: its connections are cut
}

// ReplicationMoves applies a read_only result of host:port to the runtime
// servers and returns the new list and what
// changed:
//   - read_only=0 and not yet in the writer hostgroup: copy its reader entry
//     there; keep it in the reader hostgroup only with
//     mysql-monitor_writer_is_also_reader (applied on this transition only,
//     as in ProxySQL);
//   - read_only=1 while in the writer hostgroup: make sure it is a reader
//     and remove it from the writer hostgroup;
//   - otherwise nothing.
func ReplicationMoves(servers []MySQLServer, pairs []ReplicationHostgroup, host string, port int, readOnly, writerIsAlsoReader bool) ([]MySQLServer, []Move) {
	find := func(list []MySQLServer, hg int) int {
		for i, s := range list {
			if s.HostgroupID == hg && s.Hostname == host && s.Port == port {
				return i
			}
		}
		return -1
	}
	out := append([]MySQLServer(nil), servers...)
	var moves []Move
	for _, p := range pairs {
		w, r := find(out, p.WriterHostgroup), find(out, p.ReaderHostgroup)
		if w < 0 && r < 0 {
			continue
		}
		switch {
		case !readOnly && w < 0:
			twin := out[r]
			twin.HostgroupID = p.WriterHostgroup
			out = append(out, twin)
			moves = append(moves, Move{Add: true, Hostgroup: p.WriterHostgroup})
			if !writerIsAlsoReader {
				out = append(out[:r], out[r+1:]...)
				moves = append(moves, Move{Hostgroup: p.ReaderHostgroup})
			}
		case readOnly && w >= 0:
			if r < 0 {
				twin := out[w]
				twin.HostgroupID = p.ReaderHostgroup
				out = append(out, twin)
				moves = append(moves, Move{Add: true, Hostgroup: p.ReaderHostgroup})
			}
			w = find(out, p.WriterHostgroup)
			out = append(out[:w], out[w+1:]...)
			moves = append(moves, Move{Hostgroup: p.WriterHostgroup, Demoted: true})
		}
	}
	return out, moves
}
