// Package wire implements the MySQL client/server protocol pieces a proxy
// needs: packet framing with reusable buffers, the v10 handshake from both
// ends, the authentication plugins, and small parsers for the packets whose
// contents routing depends on (OK, ERR, EOF, column counts).
//
// The package never decodes rows: result sets are forwarded packet by packet.
package wire

// Capability flags (client and server), from the MySQL protocol documentation.
const (
	ClientLongPassword               uint32 = 1 << 0
	ClientFoundRows                  uint32 = 1 << 1
	ClientLongFlag                   uint32 = 1 << 2
	ClientConnectWithDB              uint32 = 1 << 3
	ClientNoSchema                   uint32 = 1 << 4
	ClientCompress                   uint32 = 1 << 5
	ClientODBC                       uint32 = 1 << 6
	ClientLocalFiles                 uint32 = 1 << 7
	ClientIgnoreSpace                uint32 = 1 << 8
	ClientProtocol41                 uint32 = 1 << 9
	ClientInteractive                uint32 = 1 << 10
	ClientSSL                        uint32 = 1 << 11
	ClientIgnoreSigpipe              uint32 = 1 << 12
	ClientTransactions               uint32 = 1 << 13
	ClientReserved                   uint32 = 1 << 14
	ClientSecureConnection           uint32 = 1 << 15
	ClientMultiStatements            uint32 = 1 << 16
	ClientMultiResults               uint32 = 1 << 17
	ClientPSMultiResults             uint32 = 1 << 18
	ClientPluginAuth                 uint32 = 1 << 19
	ClientConnectAttrs               uint32 = 1 << 20
	ClientPluginAuthLenencClientData uint32 = 1 << 21
	ClientCanHandleExpiredPasswords  uint32 = 1 << 22
	ClientSessionTrack               uint32 = 1 << 23
	ClientDeprecateEOF               uint32 = 1 << 24
)

// Commands.
const (
	ComSleep            byte = 0x00
	ComQuit             byte = 0x01
	ComInitDB           byte = 0x02
	ComQuery            byte = 0x03
	ComFieldList        byte = 0x04
	ComCreateDB         byte = 0x05
	ComDropDB           byte = 0x06
	ComRefresh          byte = 0x07
	ComShutdown         byte = 0x08
	ComStatistics       byte = 0x09
	ComProcessInfo      byte = 0x0a
	ComConnect          byte = 0x0b
	ComProcessKill      byte = 0x0c
	ComDebug            byte = 0x0d
	ComPing             byte = 0x0e
	ComTime             byte = 0x0f
	ComDelayedInsert    byte = 0x10
	ComChangeUser       byte = 0x11
	ComBinlogDump       byte = 0x12
	ComTableDump        byte = 0x13
	ComConnectOut       byte = 0x14
	ComRegisterSlave    byte = 0x15
	ComStmtPrepare      byte = 0x16
	ComStmtExecute      byte = 0x17
	ComStmtSendLongData byte = 0x18
	ComStmtClose        byte = 0x19
	ComStmtReset        byte = 0x1a
	ComSetOption        byte = 0x1b
	ComStmtFetch        byte = 0x1c
	ComDaemon           byte = 0x1d
	ComBinlogDumpGTID   byte = 0x1e
	ComResetConnection  byte = 0x1f
)

// Server status flags carried by OK and EOF packets.
const (
	StatusInTrans            uint16 = 0x0001
	StatusAutocommit         uint16 = 0x0002
	StatusMoreResultsExists  uint16 = 0x0008
	StatusNoGoodIndexUsed    uint16 = 0x0010
	StatusNoIndexUsed        uint16 = 0x0020
	StatusCursorExists       uint16 = 0x0040
	StatusLastRowSent        uint16 = 0x0080
	StatusDBDropped          uint16 = 0x0100
	StatusNoBackslashEscapes uint16 = 0x0200
	StatusMetadataChanged    uint16 = 0x0400
	StatusQueryWasSlow       uint16 = 0x0800
	StatusPSOutParams        uint16 = 0x1000
	StatusInTransReadonly    uint16 = 0x2000
	StatusSessionStateChange uint16 = 0x4000
)

// Packet header bytes.
const (
	OKHeader          byte = 0x00
	ErrHeader         byte = 0xff
	EOFHeader         byte = 0xfe
	LocalInfileHeader byte = 0xfb
	AuthMoreData      byte = 0x01
	AuthSwitchHeader  byte = 0xfe
)

// MaxPayload is the largest payload of one physical packet; longer logical
// packets are split into chunks of this size followed by a shorter chunk.
const MaxPayload = 1<<24 - 1

// Error codes sqlgate generates itself (ProxySQL's numbers where it has one).
const (
	ErCantCreateThread             uint16 = 1135
	ErConCount                     uint16 = 1040
	ErAccessDenied                 uint16 = 1045
	ErUnknownCom                   uint16 = 1047
	ErBadDB                        uint16 = 1049
	ErNetPacketTooLarge            uint16 = 1153
	ErUnknownStmtHandler           uint16 = 1243
	ErMaxPreparedStmtCount         uint16 = 1461
	ErLoadInfileCapabilityDisabled uint16 = 4166
	ErUserLimitReached             uint16 = 1226
	ErNotSupportedYet              uint16 = 1235
	ErMalformedPacket              uint16 = 1835
	ErProxyMaxConnectTimeout       uint16 = 9001
	ErProxyMaxConnectFailure       uint16 = 9002
	ErProxyCommandUnsupported      uint16 = 9003
	// ErProxyBackendLost: the backend connection died under a statement
	// or while its session state was restored. Never a client-library
	// code (2000-2999, e.g. 2013): MariaDB Connector/C refuses those from
	// a server and reports "Received malformed packet" instead.
	ErProxyBackendLost uint16 = 9010
	ErQueryRule        uint16 = 1148
)

// Authentication plugin names.
const (
	NativePassword      = "mysql_native_password"
	CachingSHA2Password = "caching_sha2_password"
	ClearPassword       = "mysql_clear_password"
)
