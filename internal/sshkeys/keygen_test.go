package sshkeys

import (
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/git-bbkey/git-bbkey/internal/testutil"
	"golang.org/x/crypto/ssh"
)

// The key types ssh-keygen makes for the tests below.
var keygenTypes = []struct{ typ, bits string }{
	{"ed25519", ""}, {"ecdsa", "256"}, {"ecdsa", "384"}, {"ecdsa", "521"}, {"rsa", "2048"}, {"dsa", "1024"},
}

const testPassphrase = "correct horse battery"

// TestAgainstSSHKeygen makes keys with the real ssh-keygen in every private
// key format it writes (-m RFC4716 for a private key is the default OpenSSH format), with and without a passphrase, and checks that what
// we list equals what `ssh-keygen -l -E sha256` says: of the pair, of the
// private key alone, and of the public key exported as RFC 4716.
func TestAgainstSSHKeygen(t *testing.T) {
	sshKeygen := testutil.RequireTool(t, "ssh-keygen")
	for _, kt := range keygenTypes {
		for _, format := range []string{"", "PEM", "PKCS8"} {
			for _, pass := range []string{"", testPassphrase} {
				name := fmt.Sprintf("%s%s/%s/pass=%v", kt.typ, kt.bits, format, pass != "")
				t.Run(name, func(t *testing.T) {
					t.Parallel()
					testAgainstSSHKeygen(t, sshKeygen, kt.typ, kt.bits, format, pass)
				})
			}
		}
	}
}

func testAgainstSSHKeygen(t *testing.T, sshKeygen, typ, bits, format, pass string) {
	dir := t.TempDir()
	path := filepath.Join(dir, "id_"+typ)
	comment := strings.TrimSpace("test " + typ + bits + " " + format)
	args := []string{"-q", "-t", typ, "-N", pass, "-C", comment, "-f", path}
	if bits != "" {
		args = append(args, "-b", bits)
	}
	if format != "" {
		args = append(args, "-m", format)
	}
	run(t, sshKeygen, args...)
	privateData, _ := os.ReadFile(path)
	firstLine := strings.SplitN(string(privateData), "\n", 2)[0]

	want, ok := keygenFingerprint(t, sshKeygen, path+".pub")
	if !ok || want.comment != comment {
		t.Fatalf("ssh-keygen -l on the .pub: %v %+v", ok, want)
	}
	k := findOne(t, dir)
	checkAgainstKeygen(t, "pair", k, want)
	wantProblems := 0
	if typ == "dsa" {
		wantProblems = 1
		if !hasProblem(k, "dsa keys are deprecated") || !k.HasProblem(ProblemDeprecated) {
			t.Errorf("dsa key without the dsa problem: %q", k.Problems)
		}
	}
	if k.Encrypted != (pass != "") || len(k.Problems) != wantProblems || k.PrivateKeyPath != path ||
		k.PublicKeyPath != path+".pub" {
		t.Errorf("pair (%s): %+v", firstLine, k)
	}
	if enc, err := IsEncrypted(path); err != nil || enc != (pass != "") {
		t.Errorf("IsEncrypted = %v, %v", enc, err)
	}

	// The private key alone, as ssh-keygen -l reads it: OpenSSH format
	// shows its public half (and comment, when clear) without a passphrase.
	alone := t.TempDir()
	copyFile(t, path, filepath.Join(alone, "key"), 0o600)
	k = findOne(t, alone)
	if k.Encrypted != (pass != "") || !hasProblem(k, "public key file") {
		t.Errorf("private key alone (%s): %+v", firstLine, k)
	}
	if want, ok := keygenFingerprint(t, sshKeygen, filepath.Join(alone, "key")); ok {
		checkAgainstKeygen(t, "private key alone", k, want)
	} else if k.Fingerprint != "" || !k.Encrypted {
		t.Errorf("ssh-keygen cannot read the private key alone but we could: %+v", k)
	}

	// What the key gives to a signer.
	if typ == "dsa" {
		want := ErrRefusedType
		if strings.Contains(firstLine, "ENCRYPTED PRIVATE KEY") { // the type is inside the encryption
			want = ErrUnsupportedKey
		}
		if _, err := loadSigner(path, []byte(pass)); !errors.Is(err, want) {
			t.Errorf("loadSigner(dsa) = %v, want %v", err, want)
		}
	} else {
		// Wrong passphrases are tried on legacy PEM only here: bcrypt is slow under -race.
		testLoadSigner(t, path, pass, want.fingerprint, strings.Contains(firstLine, "ENCRYPTED PRIVATE KEY"),
			strings.Contains(firstLine, "BEGIN RSA") || strings.Contains(firstLine, "BEGIN EC"))
	}

	// The public key exported in RFC 4716 form, as PuTTYgen also writes it.
	rfc := run(t, sshKeygen, "-e", "-m", "RFC4716", "-f", path+".pub")
	pub, gotComment, err := ParsePublicKeyLine([]byte(rfc))
	if typ == "dsa" {
		if !errors.Is(err, ErrRefusedType) {
			t.Errorf("ParsePublicKeyLine(dsa) = %v, want ErrRefusedType", err)
		}
		return
	}
	wantComment := regexp.MustCompile(`Comment: "(.*)"`).FindStringSubmatch(rfc)
	if err != nil || Fingerprint(pub) != want.fingerprint || Bits(pub) != want.bits || wantComment == nil ||
		gotComment != wantComment[1] {
		t.Errorf("RFC 4716 %q: %v %q %v", rfc, pub, gotComment, err)
	}
}

func testLoadSigner(t *testing.T, path, pass, wantFingerprint string, pkcs8Encrypted, tryWrong bool) {
	t.Helper()
	signer, err := loadSigner(path, nil)
	switch {
	case pass == "":
		if err != nil || Fingerprint(signer.PublicKey()) != wantFingerprint {
			t.Errorf("loadSigner = %v, %v", signer, err)
		}
		return
	case pkcs8Encrypted:
		if !errors.Is(err, ErrUnsupportedKey) {
			t.Fatalf("loadSigner(encrypted pkcs#8, no passphrase) = %v, want ErrUnsupportedKey", err)
		}
	case !errors.Is(err, ErrNeedPassphrase):
		t.Fatalf("loadSigner(encrypted, no passphrase) = %v, want ErrNeedPassphrase", err)
	}
	if strings.Contains(err.Error(), pass) {
		t.Errorf("error shows the passphrase: %v", err)
	}
	// Without the passphrase the key's public half (from the file or
	// NAME.pub) finds it in an agent.
	pub, _, perr := ReadPublicKeyFile(path + ".pub")
	if perr != nil || Fingerprint(pub) != wantFingerprint {
		t.Fatalf("%s.pub: %v, %v", path, pub, perr)
	}
	if u, err := Unlock(path, UnlockOptions{Agent: holding{pub}}); err != nil || u.Method != ByAgent {
		t.Errorf("Unlock(encrypted, the agent holds it) = %v, %v; want it by the agent", u, err)
	}
	signer, err = loadSigner(path, []byte(pass))
	if pkcs8Encrypted {
		if !errors.Is(err, ErrUnsupportedKey) {
			t.Errorf("loadSigner(encrypted pkcs#8) = %v, want ErrUnsupportedKey", err)
		}
		return
	}
	if err != nil || Fingerprint(signer.PublicKey()) != wantFingerprint {
		t.Errorf("loadSigner(passphrase) = %v, %v", signer, err)
	}
	if _, err := loadSigner(path, []byte("wrong")); tryWrong && !errors.Is(err, x509.IncorrectPasswordError) {
		t.Errorf("loadSigner(wrong passphrase) = %v, want x509.IncorrectPasswordError", err)
	}
}

// TestGeneratedKeysReadBySSHKeygen writes keys we generate and checks that
// ssh-keygen reads them back to the same public key, comment, fingerprint
// and size, and needs the passphrase when there is one.
func TestGeneratedKeysReadBySSHKeygen(t *testing.T) {
	sshKeygen := testutil.RequireTool(t, "ssh-keygen")
	for _, tc := range []struct {
		typ  string
		bits int
	}{{"ed25519", 0}, {"ecdsa", 256}, {"ecdsa", 384}, {"ecdsa", 521}, {"rsa", 2048}} {
		for _, pass := range []string{"", testPassphrase} {
			t.Run(fmt.Sprintf("%s-%d/pass=%v", tc.typ, tc.bits, pass != ""), func(t *testing.T) {
				t.Parallel()
				key, err := Generate(tc.typ, tc.bits, nil)
				if err != nil {
					t.Fatal(err)
				}
				pub, err := ssh.NewPublicKey(key.Public())
				if err != nil {
					t.Fatal(err)
				}
				const comment = "alice@example.com"
				privateData, err := MarshalPrivateKey(key, comment, []byte(pass))
				if err != nil {
					t.Fatal(err)
				}
				if pass != "" && strings.Contains(string(privateData), pass) {
					t.Fatal("passphrase in the key file")
				}
				dir := t.TempDir()
				path := filepath.Join(dir, DefaultFileName(tc.typ))
				writeFile(t, path, privateData, 0o600)
				pubLine := MarshalPublicKey(pub, comment)
				writeFile(t, path+".pub", pubLine, 0o644)

				args := []string{"-y", "-f", path}
				if pass != "" {
					if _, err := tryRun(sshKeygen, "-y", "-P", "wrong", "-f", path); err == nil {
						t.Error("ssh-keygen read the encrypted key with a wrong passphrase")
					}
					args = append(args, "-P", pass)
				}
				if got := run(t, sshKeygen, args...); got != string(pubLine) {
					t.Errorf("ssh-keygen -y: %q, want %q", got, pubLine)
				}
				want, ok := keygenFingerprint(t, sshKeygen, path+".pub")
				wantBits, _ := CheckTypeBits(tc.typ, tc.bits)
				if !ok || want.fingerprint != Fingerprint(pub) || want.bits != Bits(pub) || want.bits != wantBits {
					t.Errorf("ssh-keygen -l: %+v; we say %s %d", want, Fingerprint(pub), Bits(pub))
				}
				k := findOne(t, dir)
				checkAgainstKeygen(t, "listed", k, want)
				if k.Encrypted != (pass != "") || len(k.Problems) != 0 {
					t.Errorf("listed: %+v", k)
				}
				testLoadSigner(t, path, pass, Fingerprint(pub), false, tc.typ == "ed25519")
			})
		}
	}
}

// TestRandomartMatchesSSHKeygen compares our picture with ssh-keygen -lv,
// character for character, for every type and for certificates.
func TestRandomartMatchesSSHKeygen(t *testing.T) {
	sshKeygen := testutil.RequireTool(t, "ssh-keygen")
	dir := t.TempDir()
	var files []string
	for _, kt := range keygenTypes {
		path := filepath.Join(dir, "id_"+kt.typ+kt.bits)
		args := []string{"-q", "-t", kt.typ, "-N", "", "-f", path}
		if kt.bits != "" {
			args = append(args, "-b", kt.bits)
		}
		run(t, sshKeygen, args...)
		files = append(files, path+".pub")
	}
	// Certificates: ssh-keygen signs one of each kind with a CA.
	ca := filepath.Join(dir, "ca")
	run(t, sshKeygen, "-q", "-t", "ed25519", "-N", "", "-f", ca)
	for _, pub := range files[:5] {
		run(t, sshKeygen, "-q", "-s", ca, "-I", "test", "-n", "git", pub)
		files = append(files, strings.TrimSuffix(pub, ".pub")+"-cert.pub")
	}
	if src := filepath.Join("..", "..", "..", "shared", "testdata", "openssh-sshkey"); dirExists(src) {
		for _, name := range []string{"ed25519_sk1.pub", "ecdsa_sk1.pub", "ed25519_sk1-cert.pub", "ecdsa_sk1-cert.pub", "rsa_1.pub"} {
			files = append(files, filepath.Join(src, name))
		}
	}
	for _, file := range files {
		out := run(t, sshKeygen, "-lv", "-E", "sha256", "-f", file)
		want := strings.TrimSuffix(strings.SplitN(out, "\n", 2)[1], "\n")
		data, _ := os.ReadFile(file)
		pk, err := parsePublicKeyText(data)
		if err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		var got string
		if pk.key != nil {
			got = Randomart(pk.key)
		} else { // dsa: x/crypto cannot parse it, our internal form can draw it
			got = randomart(shortTypeName(pk.typ), pk.bits, pk.blob)
		}
		if got != want {
			t.Errorf("%s:\n%s\nssh-keygen -lv:\n%s", filepath.Base(file), got, want)
		}
	}
}

func dirExists(path string) bool {
	info, err := os.Stat(path)
	return err == nil && info.IsDir()
}
