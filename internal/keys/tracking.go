package keys

import (
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/sha256"
)

// Tracking computes what is stored of a complaint's tracking code: an HMAC,
// under a key of its own, of the code's SHA-256. Without the key a stored
// value confirms no guess, so a dump alone cannot tell which complaint a
// tracking code (seen on a slip of paper, say) belongs to.
//
// The key is derived from the index key (HKDF-SHA256 with a label of its
// own), not kept on a line of its own: it lives and dies with the index key,
// which never rotates (see File), so KEK rotation never touches it and every
// stored code keeps working; and key files made before it existed need no
// change. Knowing HMACs under one of the two keys tells nothing of the
// other.
//
// The SHA-256 is taken first so that a value stored before tracking codes
// were keyed (a plain SHA-256) can be keyed without knowing the code: Sum
// of the old value is what Sum of the code's SHA-256 gives.
type Tracking struct{ key []byte }

// TrackingKeyID names the tracking key and the construction above; it is
// stored with every keyed value (complaints.tracking_key). Changing the key
// would take a new id and keying the stored values again (HMAC of the
// stored value under the new key), never the codes, which nobody keeps.
const TrackingKeyID = "t1"

// Tracking is the tracking-code key derived from this index key.
func (ix Index) Tracking() Tracking {
	if len(ix.key) == 0 {
		return Tracking{}
	}
	k, err := hkdf.Key(sha256.New, ix.key, nil, "amparo/tracking-code/"+TrackingKeyID, keySize)
	if err != nil {
		panic("keys: hkdf: " + err.Error()) // only for lengths beyond 255 hashes
	}
	return Tracking{key: k}
}

// Sum is what is stored for a code whose SHA-256 is digest.
func (t Tracking) Sum(digest []byte) []byte {
	if len(t.key) == 0 {
		panic("keys: tracking key not set (Index.Tracking of an index without a key)")
	}
	m := hmac.New(sha256.New, t.key)
	m.Write([]byte("amparo/tracking/" + TrackingKeyID + "\x00"))
	m.Write(digest)
	return m.Sum(nil)
}

// Code is Sum of a code as given (already normalized by its caller).
func (t Tracking) Code(code string) []byte {
	d := sha256.Sum256([]byte(code))
	return t.Sum(d[:])
}

// Fingerprint identifies the key without revealing it, so that start-up
// can refuse a key file other than the one the stored codes were keyed
// with (keying old values under a wrong key would lose them for good).
func (t Tracking) Fingerprint() []byte {
	m := hmac.New(sha256.New, t.key)
	m.Write([]byte("amparo/tracking-fingerprint/" + TrackingKeyID))
	return m.Sum(nil)
}
