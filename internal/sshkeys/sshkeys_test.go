package sshkeys

import (
	"bytes"
	"crypto"
	"crypto/rand"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"golang.org/x/crypto/ssh"
)

// OpenSSH's ed25519_1.pub vector, with what ssh-keygen -lv prints for it.
const (
	ed25519Line        = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFOG6kY7Rf4UtCFvPwKgo/BztXck2xC4a2WyA34XtIwZ ED25519 test key #1"
	ed25519Fingerprint = "SHA256:L3k/oJubblSY0lB9Ulsl7emDMnRPKm/8udf2ccwk560"
	ed25519Randomart   = `+--[ED25519 256]--+
|       ... .. oo.|
|      .   o .o ..|
|       o o o.  ..|
|      . + .. . o.|
|       .S.. . B o|
|        .o.+ o @.|
|       .o.o.*  .O|
|        o= ..+ .B|
|       o*o  o.E==|
+----[SHA256]-----+`
)

func TestFingerprintBitsRandomartOfKnownKey(t *testing.T) {
	pub, comment, err := ParsePublicKeyLine([]byte(ed25519Line))
	if err != nil {
		t.Fatal(err)
	}
	if comment != "ED25519 test key #1" || Fingerprint(pub) != ed25519Fingerprint || Bits(pub) != 256 {
		t.Errorf("got %q %s %d", comment, Fingerprint(pub), Bits(pub))
	}
	if got := Randomart(pub); got != ed25519Randomart {
		t.Errorf("randomart:\n%s\nwant:\n%s", got, ed25519Randomart)
	}
}

// newKey generates a key and its public half.
func newKey(t *testing.T, typ string, bits int) (crypto.Signer, ssh.PublicKey) {
	t.Helper()
	key, err := Generate(typ, bits, nil)
	if err != nil {
		t.Fatal(err)
	}
	pub, err := ssh.NewPublicKey(key.Public())
	if err != nil {
		t.Fatal(err)
	}
	return key, pub
}

// writePair writes dir/name and dir/name.pub as ssh-keygen would.
func writePair(t *testing.T, dir, name string, key crypto.Signer, pub ssh.PublicKey, passphrase string) {
	t.Helper()
	data, err := MarshalPrivateKey(key, "me@example.com", []byte(passphrase))
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(dir, name), data, 0o600)
	writeFile(t, filepath.Join(dir, name+".pub"), MarshalPublicKey(pub, "me@example.com"), 0o644)
}

// rsa1Line is an SSH-1 public key line with a modulus of the given size.
func rsa1Line(bits int) string {
	modulus := new(big.Int).Lsh(big.NewInt(1), uint(bits-1))
	return fmt.Sprintf("%d 65537 %s old@host", bits, modulus.Add(modulus, big.NewInt(1)))
}

func TestFindKeyPairsMissingDir(t *testing.T) {
	keys, err := FindKeyPairs(filepath.Join(t.TempDir(), "nope"))
	if err != nil || keys == nil || len(keys) != 0 {
		t.Errorf("got %v, %v; want an empty list", keys, err)
	}
}

func TestFindKeyPairsSkipsWhatIsNotAKey(t *testing.T) {
	dir := t.TempDir()
	key, pub := newKey(t, "ed25519", 0)
	writePair(t, dir, "id_ed25519", key, pub, "")
	line := MarshalPublicKey(pub, "x")
	writeFile(t, filepath.Join(dir, "config"), []byte("Host bitbucket\n  Port 7999\n"), 0o600)
	writeFile(t, filepath.Join(dir, "known_hosts"), append([]byte("[bb.example.com]:7999 "), line...), 0o644)
	writeFile(t, filepath.Join(dir, "authorized_keys"), line, 0o600)
	writeFile(t, filepath.Join(dir, "junk"), []byte{0, 1, 2, 0xff, '\n'}, 0o600)
	writeFile(t, filepath.Join(dir, "empty"), nil, 0o600)
	writeFile(t, filepath.Join(dir, "notes.txt"), []byte("ssh keys are in bitbucket\n"), 0o600)
	backup := filepath.Join(dir, "key_backup", "20240101-000000")
	if err := os.MkdirAll(backup, 0o700); err != nil {
		t.Fatal(err)
	}
	writePair(t, backup, "id_rsa", key, pub, "")
	if runtime.GOOS != "windows" {
		if err := os.Symlink("id_ed25519.pub", filepath.Join(dir, "dangling")); err != nil {
			t.Fatal(err)
		}
		_ = os.Symlink("nowhere", filepath.Join(dir, "broken"))
	}

	keys, err := FindKeyPairs(dir)
	if err != nil {
		t.Fatal(err)
	}
	paths := []string{}
	for _, k := range keys {
		paths = append(paths, k.path())
	}
	// "dangling" is a symlink to a real public key: listed, as ssh would read it.
	want := []string{filepath.Join(dir, "dangling"), filepath.Join(dir, "id_ed25519")}
	if runtime.GOOS == "windows" {
		want = want[1:]
	}
	if strings.Join(paths, "\n") != strings.Join(want, "\n") {
		t.Fatalf("listed %q, want %q", paths, want)
	}
	k := keys[len(keys)-1]
	if k.PublicKeyPath != filepath.Join(dir, "id_ed25519.pub") || k.Type != "ssh-ed25519" || k.Bits != 256 ||
		k.Fingerprint != Fingerprint(pub) || k.Comment != "me@example.com" || k.Encrypted ||
		len(k.Problems) != 0 || k.PublicKey == nil {
		t.Errorf("%+v", k)
	}
}

func TestFindKeyPairsProblems(t *testing.T) {
	dir := t.TempDir()
	path := func(name string) string { return filepath.Join(dir, name) }
	key, pub := newKey(t, "ed25519", 0)
	otherKey, otherPub := newKey(t, "ecdsa", 384)

	writePair(t, dir, "open", key, pub, "")
	if err := os.Chmod(path("open"), 0o644); err != nil {
		t.Fatal(err)
	}
	writePair(t, dir, "swapped", key, pub, "")
	writeFile(t, path("swapped.pub"), MarshalPublicKey(otherPub, "other"), 0o644)
	writePair(t, dir, "encrypted", otherKey, otherPub, "secret")
	writePair(t, dir, "lonely", key, pub, "")
	os.Remove(path("lonely"))
	writePair(t, dir, "nopub", otherKey, otherPub, "")
	os.Remove(path("nopub.pub"))
	const brokenBody = "b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAA"
	writeFile(t, path("broken"), []byte("-----BEGIN OPENSSH PRIVATE KEY-----\n"+brokenBody+"\n-----END OPENSSH PRIVATE KEY-----\n"), 0o600)
	writeFile(t, path("brokenpub.pub"), []byte("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFOG6kY7R me\n"), 0o644)
	writeFile(t, path("old.pub"), []byte(rsa1Line(1024)+"\n"), 0o644)
	writePair(t, dir, "certified", key, pub, "")
	ca, _ := newKey(t, "ed25519", 0)
	caSigner, _ := ssh.NewSignerFromSigner(ca)
	cert := &ssh.Certificate{Key: otherPub, CertType: ssh.UserCert, ValidPrincipals: []string{"git"}, ValidBefore: ssh.CertTimeInfinity}
	if err := cert.SignCert(rand.Reader, caSigner); err != nil {
		t.Fatal(err)
	}
	writeFile(t, path("certified-cert.pub"), MarshalPublicKey(cert, ""), 0o644)

	keys, err := FindKeyPairs(dir)
	if err != nil {
		t.Fatal(err)
	}
	byName := map[string]Key{}
	for _, k := range keys {
		byName[filepath.Base(k.path())] = k
	}
	expect := map[string][]string{
		"swapped":       {"public key does not match private key"},
		"encrypted":     nil,
		"lonely.pub":    {"private key file " + path("lonely") + " is missing"},
		"nopub":         {"public key file " + path("nopub.pub") + " is missing"},
		"broken":        {"private key file " + path("broken") + " does not parse: ", "public key file"},
		"brokenpub.pub": {"public key file " + path("brokenpub.pub") + " does not parse: ", "private key file"},
		"old.pub":       {"private key file", "rsa1 keys are for the ssh-1 protocol"},
		"certified":     {"certificate " + path("certified-cert.pub") + " is for another key"},
		"open":          nil,
	}
	kinds := map[string][]ProblemKind{
		"swapped":       {ProblemPublicMismatch},
		"lonely.pub":    {ProblemMissingPrivate},
		"nopub":         {ProblemMissingPublic},
		"broken":        {ProblemPrivateUnparsable, ProblemMissingPublic},
		"brokenpub.pub": {ProblemPublicUnparsable, ProblemMissingPrivate},
		"old.pub":       {ProblemMissingPrivate, ProblemRefusedType},
		"certified":     {ProblemCertificateMismatch},
		"open":          {ProblemLooseMode},
	}
	if runtime.GOOS != "windows" {
		expect["open"] = []string{"private key is readable by group or others: ssh refuses it (mode 0644; chmod 600 " + path("open") + ")"}
	}
	if len(keys) != len(expect) { // certified-cert.pub is not a key of its own
		t.Errorf("listed %d keys, want %d: %+v", len(keys), len(expect), keys)
	}
	for name, problems := range expect {
		k, ok := byName[name]
		if !ok {
			t.Errorf("%s not listed", name)
			continue
		}
		if len(k.Problems) != len(problems) {
			t.Errorf("%s: problems %q, want %q", name, k.Problems, problems)
			continue
		}
		for i, p := range problems {
			if !strings.HasPrefix(k.Problems[i].String(), p) {
				t.Errorf("%s: problem %q, want %q...", name, k.Problems[i], p)
			}
			if strings.Contains(k.Problems[i].String(), brokenBody[20:40]) {
				t.Errorf("%s: problem shows file content: %q", name, k.Problems[i])
			}
			if want := kinds[name][i]; k.Problems[i].Kind != want {
				t.Errorf("%s: problem %q has kind %d, want %d", name, k.Problems[i], k.Problems[i].Kind, want)
			}
		}
	}
	// The .pub decides what is shown, as with ssh-keygen -l.
	if k := byName["swapped"]; k.Fingerprint != Fingerprint(otherPub) {
		t.Errorf("swapped: fingerprint %s", k.Fingerprint)
	}
	if k := byName["encrypted"]; !k.Encrypted || k.Fingerprint != Fingerprint(otherPub) || k.Bits != 384 {
		t.Errorf("encrypted: %+v", k)
	}
	if k := byName["nopub"]; k.Fingerprint != Fingerprint(otherPub) || k.Comment != "me@example.com" {
		t.Errorf("nopub: public half and comment not read from the private key: %+v", k)
	}
	if k := byName["old.pub"]; k.Type != "rsa1" || k.Bits != 1024 {
		t.Errorf("old.pub: %+v", k)
	}
	if k := byName["certified"]; k.CertificatePath != path("certified-cert.pub") {
		t.Errorf("certified: %+v", k)
	}
}

func TestParsePublicKeyLine(t *testing.T) {
	_, pub := newKey(t, "ecdsa", 256)
	line := strings.TrimSuffix(string(MarshalPublicKey(pub, "")), "\n")
	fields := strings.Fields(line)
	privatePEM := pem.EncodeToMemory(&pem.Block{Type: "OPENSSH PRIVATE KEY", Bytes: []byte("x")})
	dsaLine := "ssh-dss AAAAB3NzaC1kc3MAAAABAQAAAAEBAAAAAQEAAAABAQ== dsa"
	ok := []struct{ in, comment string }{
		{line, ""},
		{line + " alice@example.com", "alice@example.com"},
		{line + "   two  words \r\n", "two  words"},
		{"\xef\xbb\xbf# my key\n\n" + line + " c\n\n", "c"},
		{"---- BEGIN SSH2 PUBLIC KEY ----\nx-tag: y\nComment: \"long \\\ncomment\"\n" + fields[1][:40] + "\n" +
			fields[1][40:] + "\n---- END SSH2 PUBLIC KEY ----\n", "long comment"},
	}
	for _, tc := range ok {
		got, comment, err := ParsePublicKeyLine([]byte(tc.in))
		if err != nil || Fingerprint(got) != Fingerprint(pub) || comment != tc.comment {
			t.Errorf("ParsePublicKeyLine(%q) = %v, %q, %v", tc.in, got, comment, err)
		}
	}
	bad := []struct {
		in      string
		is      error
		message string
	}{
		{string(privatePEM), ErrPrivateKey, ""},
		{"PuTTY-User-Key-File-3: ssh-ed25519\n", ErrPrivateKey, ""},
		{"", nil, "no public key found"},
		{line + "\n" + line, nil, "expected one public key, found 2 lines"},
		{`no-pty,command="x" ` + line, nil, "options are not allowed"},
		{"ssh-ed25519 !!!notbase64", nil, "not valid base64"},
		{"ssh-rsa " + fields[1], nil, `key type "ssh-rsa" does not match the key data ("ecdsa-sha2-nistp256")`},
		{"ssh-foo AAAAB3NzaC1mb28=", nil, `unknown key type "ssh-foo"`},
		{dsaLine, ErrRefusedType, "dsa keys are deprecated and refused by Bitbucket"},
		{rsa1Line(2048), ErrRefusedType, "rsa1 keys are for the ssh-1 protocol"},
		{"1024 65537 12345 numbers, not a key", nil, "not a public key line"},
		{"hello world", nil, "not a public key line"},
	}
	for _, tc := range bad {
		_, _, err := ParsePublicKeyLine([]byte(tc.in))
		if err == nil || tc.is != nil && !errors.Is(err, tc.is) || !strings.Contains(err.Error(), tc.message) {
			t.Errorf("ParsePublicKeyLine(%q) = %v, want %v %q", tc.in, err, tc.is, tc.message)
		}
	}
}

func TestCertificateFingerprintIsTheKeys(t *testing.T) {
	ca, _ := newKey(t, "ed25519", 0)
	caSigner, _ := ssh.NewSignerFromSigner(ca)
	_, pub := newKey(t, "ecdsa", 521)
	cert := &ssh.Certificate{Key: pub, CertType: ssh.UserCert, ValidPrincipals: []string{"git"}, ValidBefore: ssh.CertTimeInfinity}
	if err := cert.SignCert(rand.Reader, caSigner); err != nil {
		t.Fatal(err)
	}
	got, _, err := ParsePublicKeyLine(MarshalPublicKey(cert, "c"))
	if err != nil {
		t.Fatal(err)
	}
	if _, isCert := got.(*ssh.Certificate); !isCert || Fingerprint(got) != Fingerprint(pub) || Bits(got) != 521 {
		t.Errorf("certificate: %T %s %d", got, Fingerprint(got), Bits(got))
	}
	if !strings.HasPrefix(Randomart(got), "+[ECDSA-CERT 521]-+") {
		t.Errorf("certificate randomart title: %s", Randomart(got))
	}
}

func TestCheckTypeBitsAndGenerate(t *testing.T) {
	cases := []struct {
		typ      string
		bits     int
		want     int
		is       error
		contains string
	}{
		{"ed25519", 0, 256, nil, ""},
		{"ed25519", 256, 256, nil, ""},
		{"ed25519", 512, 0, ErrBadBits, "always 256"},
		{"ecdsa", 0, 256, nil, ""},
		{"ecdsa", 521, 521, nil, ""},
		{"ecdsa", 512, 0, ErrBadBits, "256, 384 or 521"},
		{"rsa", 0, 4096, nil, ""},
		{"rsa", 2048, 2048, nil, ""},
		{"rsa", 16384, 16384, nil, ""},
		{"rsa", 1024, 0, ErrBadBits, "2048 to 16384"},
		{"rsa", 16385, 0, ErrBadBits, "2048 to 16384"},
		{"dsa", 0, 0, ErrRefusedType, "deprecated"},
		{"rsa1", 0, 0, ErrRefusedType, "ssh-1 protocol"},
		{"ed25519-sk", 0, 0, ErrUnknownType, "hardware token"},
		{"ED25519", 0, 0, ErrUnknownType, "use ed25519, ecdsa or rsa"},
		{"", 0, 0, ErrUnknownType, ""},
	}
	for _, tc := range cases {
		got, err := CheckTypeBits(tc.typ, tc.bits)
		if got != tc.want || !errors.Is(err, tc.is) || err != nil && !strings.Contains(err.Error(), tc.contains) {
			t.Errorf("CheckTypeBits(%q, %d) = %d, %v", tc.typ, tc.bits, got, err)
		}
		if tc.is != nil {
			if key, err := Generate(tc.typ, tc.bits, nil); key != nil || !errors.Is(err, tc.is) {
				t.Errorf("Generate(%q, %d) = %v, %v", tc.typ, tc.bits, key, err)
			}
		}
	}
	for _, tc := range []struct {
		typ, wantType string
		bits, want    int
	}{{"ed25519", "ssh-ed25519", 0, 256}, {"ecdsa", "ecdsa-sha2-nistp256", 0, 256}, {"ecdsa", "ecdsa-sha2-nistp384", 384, 384},
		{"ecdsa", "ecdsa-sha2-nistp521", 521, 521}, {"rsa", "ssh-rsa", 2048, 2048}} {
		_, pub := newKey(t, tc.typ, tc.bits)
		if pub.Type() != tc.wantType || Bits(pub) != tc.want {
			t.Errorf("Generate(%q, %d): %s %d", tc.typ, tc.bits, pub.Type(), Bits(pub))
		}
	}
}

func TestMarshalAndLoadRoundTrip(t *testing.T) {
	key, pub := newKey(t, "ed25519", 0)
	if got := string(MarshalPublicKey(pub, "")); !strings.HasSuffix(got, "\n") || strings.HasSuffix(got, " \n") ||
		strings.Count(got, " ") != 1 {
		t.Errorf("no comment: %q", got)
	}
	line := MarshalPublicKey(pub, " two\nlines ")
	if _, comment, err := ParsePublicKeyLine(line); err != nil || comment != "two lines" {
		t.Errorf("comment with a newline: %q -> %q, %v", line, comment, err)
	}
	dir := t.TempDir()
	writePair(t, dir, "clear", key, pub, "")
	writePair(t, dir, "locked", key, pub, "pass phrase")
	for _, tc := range []struct {
		name, pass string
		encrypted  bool
	}{{"clear", "", false}, {"clear", "unneeded", false}, {"locked", "pass phrase", true}} {
		path := filepath.Join(dir, tc.name)
		signer, err := loadSigner(path, []byte(tc.pass))
		if err != nil || !bytes.Equal(signer.PublicKey().Marshal(), pub.Marshal()) {
			t.Errorf("loadSigner(%s) = %v, %v", tc.name, signer, err)
		}
		if enc, err := IsEncrypted(path); enc != tc.encrypted || err != nil {
			t.Errorf("IsEncrypted(%s) = %v, %v", tc.name, enc, err)
		}
	}
	if _, err := loadSigner(filepath.Join(dir, "locked"), nil); !errors.Is(err, ErrNeedPassphrase) {
		t.Errorf("loadSigner(locked, no passphrase) = %v, want ErrNeedPassphrase", err)
	}
	if u, err := Unlock(filepath.Join(dir, "locked"), UnlockOptions{Agent: holding{pub}}); err != nil || u.Method != ByAgent {
		t.Errorf("Unlock(locked, the agent holds it) = %v, %v; want it by the agent", u, err)
	}
	for _, name := range []string{"clear.pub", "missing"} {
		if _, err := loadSigner(filepath.Join(dir, name), nil); err == nil {
			t.Errorf("loadSigner(%s) succeeded", name)
		}
		if _, err := IsEncrypted(filepath.Join(dir, name)); err == nil {
			t.Errorf("IsEncrypted(%s) succeeded", name)
		}
	}
}

func TestAcceptedByBitbucket(t *testing.T) {
	for _, tc := range []struct {
		k      Key
		ok     bool
		reason string
	}{
		{Key{Type: "ssh-ed25519", Bits: 256}, true, ""},
		{Key{Type: "ecdsa-sha2-nistp521", Bits: 521}, true, ""},
		{Key{Type: "sk-ssh-ed25519@openssh.com", Bits: 256}, true, ""},
		{Key{Type: "sk-ecdsa-sha2-nistp256@openssh.com", Bits: 256}, true, ""},
		{Key{Type: "ssh-rsa", Bits: 2048}, true, ""},
		{Key{Type: "ssh-rsa", Bits: 1024}, false, "rsa key of 1024 bits: Bitbucket needs at least 2048"},
		{Key{Type: "ssh-dss", Bits: 1024}, false, "dsa keys are deprecated and refused by Bitbucket"},
		{Key{Type: "rsa1", Bits: 2048}, false, "rsa1 keys are for the ssh-1 protocol, which Bitbucket and OpenSSH no longer accept"},
		{Key{Type: typeMLDSA}, false, typeMLDSA + " keys are not supported by Bitbucket or git-bbkey"},
		{Key{}, false, "the key type is unknown"},
	} {
		if ok, reason := AcceptedByBitbucket(tc.k); ok != tc.ok || reason != tc.reason {
			t.Errorf("AcceptedByBitbucket(%s %d) = %v %q", tc.k.Type, tc.k.Bits, ok, reason)
		}
	}
}

func TestDefaultFileName(t *testing.T) {
	for typ, want := range map[string]string{"ed25519": "id_ed25519", "ecdsa": "id_ecdsa", "rsa": "id_rsa", "dsa": "", "../x": ""} {
		if got := DefaultFileName(typ); got != want {
			t.Errorf("DefaultFileName(%q) = %q, want %q", typ, got, want)
		}
	}
	for _, name := range DefaultKeyNames {
		if DefaultFileName(strings.TrimPrefix(name, "id_")) != name {
			t.Errorf("DefaultKeyNames has %q, which Generate never names", name)
		}
	}
}
