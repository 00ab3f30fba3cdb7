package wire

import "crypto/sha1"

// VerifyLogin runs the server side of authentication on c after the
// client answered the scramble salt with plugin and resp (from the
// HandshakeResponse or COM_CHANGE_USER), against cred, the user's stored
// credential. An unknown user must be given a credential nothing matches,
// so that the exchange goes the same way and a client cannot tell unknown
// users from wrong passwords. pluginAuth says the client negotiated
// CLIENT_PLUGIN_AUTH; secure that the connection runs over TLS.
//
// Depending on the plugin it may talk to the client more: the fast
// authentication result, a full caching_sha2_password authentication
// (the cleartext password, over TLS only), or a switch to
// mysql_native_password for a plugin it cannot verify. The caller answers
// the client: OK, or the access denied error.
func (c *Conn) VerifyLogin(cred Credential, salt []byte, plugin string, resp []byte, pluginAuth, secure bool) (Login, error) {
	cred, ok, err := c.verifyLogin(cred, salt, plugin, &resp, pluginAuth, secure)
	return Login{Cred: cred, OK: ok, Password: len(resp) > 0}, err
}

// Login is the outcome of VerifyLogin.
type Login struct {
	// Cred is the stored credential completed with what the exchange
	// revealed (SHA1 of the password, or the password itself after a
	// full authentication), so that backend logins can use it.
	Cred     Credential
	OK       bool
	Password bool // the client's last answer carried one ("using password: YES")
}

func (c *Conn) verifyLogin(cred Credential, salt []byte, plugin string, respp *[]byte, pluginAuth, secure bool) (Credential, bool, error) {
	resp := *respp
	if plugin == "" && !pluginAuth {
		plugin = NativePassword
	}
	ok := false
	switch plugin {
	case NativePassword:
		var st1 []byte
		st1, ok = cred.VerifyNative(salt, resp)
		if ok && st1 != nil && cred.Stage1 == nil {
			cred.Stage1 = st1
		}
	case CachingSHA2Password:
		// Every failed fast authentication goes the same way whatever is
		// stored (cleartext, a hash, or no such user): full authentication
		// over TLS, a plain denial without it. So the exchange tells a
		// client nothing about which users exist or how they are stored.
		switch {
		case cred.VerifyCachingSHA2Fast(salt, resp):
			ok = true
			if len(resp) > 0 {
				if err := c.writeFlush([]byte{AuthMoreData, 3}); err != nil {
					return cred, false, err
				}
			}
		case len(resp) == 0, !secure:
			ok = false
		default:
			if err := c.writeFlush([]byte{AuthMoreData, 4}); err != nil {
				return cred, false, err
			}
			pw, err := c.ReadPacket(4096)
			if err != nil {
				return cred, false, err
			}
			pwc := append([]byte(nil), pw...)
			for len(pwc) > 0 && pwc[len(pwc)-1] == 0 {
				pwc = pwc[:len(pwc)-1]
			}
			ok = cred.VerifyCleartext(pwc)
			if ok {
				s1 := sha1.Sum(pwc)
				s2 := sha1.Sum(s1[:])
				cred = Credential{Cleartext: string(pwc), HasCleartext: true, Stage1: s1[:], Stage2: s2[:]}
			}
		}
	default:
		// Unknown or unsupported plugin (or a client without plugin auth
		// that sent an old-style response): ask for mysql_native_password.
		r, err := c.SwitchToNative(salt)
		if err != nil {
			return cred, false, err
		}
		resp = r
		*respp = resp
		var st1 []byte
		st1, ok = cred.VerifyNative(salt, resp)
		if ok && st1 != nil && cred.Stage1 == nil {
			cred.Stage1 = st1
		}
	}
	return cred, ok, nil
}

// SwitchToNative asks the client to authenticate again with
// mysql_native_password over salt (an AuthSwitchRequest) and returns its
// answer, a copy of at most 4 KiB.
func (c *Conn) SwitchToNative(salt []byte) ([]byte, error) {
	if err := c.WritePacket(AppendAuthSwitch(nil, NativePassword, salt)); err != nil {
		return nil, err
	}
	if err := c.FlushAwait(); err != nil { // the client answers only this request
		return nil, err
	}
	r, err := c.ReadPacket(4096)
	if err != nil {
		return nil, err
	}
	return append([]byte(nil), r...), nil
}

func (c *Conn) writeFlush(p []byte) error {
	if err := c.WritePacket(p); err != nil {
		return err
	}
	return c.Flush()
}
