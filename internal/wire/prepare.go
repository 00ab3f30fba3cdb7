package wire

import "encoding/binary"

// PrepareOK is the reply to COM_STMT_PREPARE: the statement id and the
// definitions of its parameters and result columns, kept as the raw
// column-definition packets (a proxy passes them on, it never reads them).
type PrepareOK struct {
	StmtID    uint32
	NumParams uint16
	NumCols   uint16
	Params    [][]byte
	Cols      [][]byte
}

// ReadPrepareOK reads a server's reply to the COM_STMT_PREPARE just sent on
// c. An ERR reply is returned as *Error; anything else but a PREPARE_OK as
// ErrMalformed. With keep, the definitions are copied into the result;
// without, they are read and dropped (the caller knows them already).
// deprecateEOF is the connection's CLIENT_DEPRECATE_EOF. Any error but an
// *Error leaves the connection out of step.
func (c *Conn) ReadPrepareOK(deprecateEOF, keep bool) (PrepareOK, error) {
	p, err := c.ReadPacket(0)
	if err != nil {
		return PrepareOK{}, err
	}
	if len(p) > 0 && p[0] == ErrHeader {
		return PrepareOK{}, ParseErr(p)
	}
	if len(p) < 12 || p[0] != OKHeader {
		return PrepareOK{}, ErrMalformed
	}
	r := PrepareOK{
		StmtID:    binary.LittleEndian.Uint32(p[1:]),
		NumCols:   binary.LittleEndian.Uint16(p[5:]),
		NumParams: binary.LittleEndian.Uint16(p[7:]),
	}
	readDefs := func(n uint16) ([][]byte, error) {
		var defs [][]byte
		for range n {
			d, err := c.ReadPacket(0)
			if err != nil {
				return nil, err
			}
			if keep {
				defs = append(defs, append([]byte(nil), d...))
			}
		}
		if n > 0 && !deprecateEOF {
			if _, err := c.ReadPacket(0); err != nil {
				return nil, err
			}
		}
		return defs, nil
	}
	if r.Params, err = readDefs(r.NumParams); err != nil {
		return PrepareOK{}, err
	}
	if r.Cols, err = readDefs(r.NumCols); err != nil {
		return PrepareOK{}, err
	}
	return r, nil
}

// WritePrepareOK writes r to a client: the PREPARE_OK packet, then the
// parameter and column definitions, each list closed by an EOF with status
// unless the client negotiated deprecateEOF. buf is scratch space, returned
// for reuse.
func (c *Conn) WritePrepareOK(buf []byte, r *PrepareOK, status uint16, deprecateEOF bool) ([]byte, error) {
	b := append(buf[:0], OKHeader)
	b = binary.LittleEndian.AppendUint32(b, r.StmtID)
	b = binary.LittleEndian.AppendUint16(b, r.NumCols)
	b = binary.LittleEndian.AppendUint16(b, r.NumParams)
	b = append(b, 0, 0, 0)
	if err := c.WritePacket(b); err != nil {
		return b, err
	}
	for _, defs := range [][][]byte{r.Params, r.Cols} {
		for _, d := range defs {
			if err := c.WritePacket(d); err != nil {
				return b, err
			}
		}
		if len(defs) > 0 && !deprecateEOF {
			b = AppendEOF(b[:0], 0, status)
			if err := c.WritePacket(b); err != nil {
				return b, err
			}
		}
	}
	return b, nil
}
