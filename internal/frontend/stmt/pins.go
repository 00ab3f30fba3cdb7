package stmt

import "sqlgate/internal/router"

// Reasons a backend connection stays attached to its session (bits of
// backend.Conn.Pinned). Each one stands for server-side state that only
// that connection holds.
const (
	PinUserVariable uint32 = 1 << iota
	PinTempTable
	PinLockTables
	PinGetLock
	PinFoundRows
	PinPrepare
	PinSQLLogBin0
	PinUnparsedSet
	PinNextTrx
	PinCursor
	PinRuleNoMultiplex // a query rule with multiplex=0 ran on it
)

// flagPins maps statement flags to the pins they set or clear.
var flagPins = []struct {
	flag  router.StmtFlags
	pin   uint32
	clear bool
}{
	{router.FlagTempTable, PinTempTable, false},
	{router.FlagLockTables, PinLockTables, false},
	{router.FlagUnlockTables, PinLockTables, true},
	{router.FlagGetLock, PinGetLock, false},
	{router.FlagFoundRows, PinFoundRows, false},
	{router.FlagPrepared, PinPrepare, false},
	{router.FlagSQLLogBin0, PinSQLLogBin0, false},
	{router.FlagSQLLogBin1, PinSQLLogBin0, true},
}

// Pins returns the pins of a connection, pinned before, after the
// statement ran on it successfully: what its flags set and clear, a SET
// sqlgate could not parse (unless a rule's multiplex says it is
// harmless, as in ProxySQL), and a rule's multiplex=0 or 1. The pins of
// a parsed SET are sessionstate.State.ApplySet's.
func (i *Info) Pins(pinned uint32) uint32 {
	if f := i.Flags; f != 0 {
		if f&router.FlagUserVariable != 0 && i.Cmd != router.CmdSet && i.Multiplex != MultiplexKeepVar && i.UserVar {
			pinned |= PinUserVariable
		}
		for _, fp := range flagPins {
			switch {
			case f&fp.flag == 0:
			case fp.clear:
				pinned &^= fp.pin
			default:
				pinned |= fp.pin
			}
		}
	}
	if i.IsSet && !i.SetParsed && i.Multiplex == MultiplexNone {
		pinned |= PinUnparsedSet
	}
	switch i.Multiplex {
	case MultiplexOff:
		pinned |= PinRuleNoMultiplex
	case MultiplexOn:
		pinned &^= PinRuleNoMultiplex
	}
	return pinned
}
