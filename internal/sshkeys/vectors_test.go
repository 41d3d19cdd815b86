package sshkeys

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/git-bbkey/git-bbkey/internal/testutil"
)

// vectorKeyFiles are the vector files holding keys or certificates; the
// others hold fingerprints in other encodings, key parameters, the
// passphrase and the README.
func vectorKeyFiles(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		n := e.Name()
		if n == "README.md" || n == "pw" || strings.HasSuffix(n, ".fp") || strings.HasSuffix(n, ".fp.bb") ||
			strings.Contains(n, ".param.") {
			continue
		}
		names = append(names, n)
	}
	if len(names) < 40 {
		t.Fatalf("only %d key files in %s: wrong directory?", len(names), dir)
	}
	return names
}

// vectorBase names the key a vector file holds: rsa_1_pw, rsa_n, rsa_1.pub,
// rsa_1_sha1-cert.pub all hold rsa_1 (whose fingerprint is rsa_1.fp).
func vectorBase(name string) string {
	name = strings.TrimSuffix(name, ".pub")
	name = strings.TrimSuffix(name, "-cert")
	for _, suffix := range []string{"_pw", "_sha1", "_sha512"} {
		name = strings.TrimSuffix(name, suffix)
	}
	if stem, ok := strings.CutSuffix(name, "_n"); ok {
		name = stem + "_1"
	}
	return name
}

func readVectorFingerprints(t *testing.T, dir string) map[string]string {
	t.Helper()
	paths, _ := filepath.Glob(filepath.Join(dir, "*.fp"))
	fps := map[string]string{}
	for _, p := range paths {
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		fps[strings.TrimSuffix(filepath.Base(p), ".fp")] = strings.TrimSpace(string(data))
	}
	if len(fps) < 15 {
		t.Fatalf("only %d .fp files in %s", len(fps), dir)
	}
	return fps
}

// TestOpenSSHVectorFingerprints proves that every .fp file of OpenSSH's
// vectors equals our fingerprint of every file holding that key: private
// keys in each format (PEM, OpenSSH, encrypted), public keys, certificates,
// and the types x/crypto cannot load (sk, mldsa44 hybrids).
func TestOpenSSHVectorFingerprints(t *testing.T) {
	src := vectorsDir(t)
	fps := readVectorFingerprints(t, src)
	pwData, err := os.ReadFile(filepath.Join(src, "pw"))
	if err != nil {
		t.Fatal(err)
	}
	passphrase := []byte(strings.TrimSpace(string(pwData)))
	checked := map[string]int{} // .fp name → how many files matched it

	for _, name := range vectorKeyFiles(t, src) {
		dir := t.TempDir()
		path := filepath.Join(dir, name)
		copyFile(t, filepath.Join(src, name), path, 0o600)

		var fp string
		fpNames := []string{vectorBase(name)}
		if strings.HasSuffix(name, "-cert.pub") {
			data, _ := os.ReadFile(path)
			pk, err := parsePublicKeyText(data)
			if err != nil {
				t.Errorf("%s: %v", name, err)
				continue
			}
			fp = fingerprintBlob(pk.blob)
			if !pk.cert {
				t.Errorf("%s: not seen as a certificate", name)
			}
			if pk.key != nil && Fingerprint(pk.key) != fp {
				t.Errorf("%s: Fingerprint(cert) %s, blob fingerprint %s", name, Fingerprint(pk.key), fp)
			}
			fpNames = append(fpNames, strings.TrimSuffix(name, ".pub"))
		} else {
			k := findOne(t, dir)
			if wantEnc := strings.HasSuffix(name, "_pw"); k.Encrypted != wantEnc {
				t.Errorf("%s: Encrypted = %v, want %v", name, k.Encrypted, wantEnc)
			}
			if hasProblem(k, "does not parse") {
				t.Errorf("%s: %v", name, k.Problems)
			}
			fp = k.Fingerprint
			if fp == "" {
				// Encrypted PEM has no public half in the clear: unlock it.
				if !k.Encrypted {
					t.Errorf("%s: no fingerprint for a clear key: %+v", name, k)
					continue
				}
				signer, err := loadSigner(path, passphrase)
				if err != nil {
					t.Errorf("%s: %v", name, err)
					continue
				}
				fp = Fingerprint(signer.PublicKey())
			}
		}
		matched := false
		for _, fpName := range fpNames {
			if want, ok := fps[fpName]; ok {
				matched = true
				checked[fpName]++
				if fp != want {
					t.Errorf("%s: fingerprint %s, %s.fp says %s", name, fp, fpName, want)
				}
			}
		}
		if !matched {
			t.Errorf("%s: no .fp file to compare with", name)
		}
	}
	for fpName := range fps {
		if checked[fpName] == 0 {
			t.Errorf("%s.fp: no key file was compared with it", fpName)
		}
	}
}

// TestOpenSSHVectorsListed lists the whole vector directory, junk included,
// and checks pairing and the problems reported.
func TestOpenSSHVectorsListed(t *testing.T) {
	src := vectorsDir(t)
	fps := readVectorFingerprints(t, src)
	dir := t.TempDir()
	entries, _ := os.ReadDir(src)
	for _, e := range entries {
		copyFile(t, filepath.Join(src, e.Name()), filepath.Join(dir, e.Name()), 0o600)
	}
	keys, err := FindKeyPairs(dir)
	if err != nil {
		t.Fatal(err)
	}
	byName := map[string]Key{}
	for _, k := range keys {
		name := filepath.Base(k.path())
		if strings.HasSuffix(name, ".fp") || strings.Contains(name, ".param.") || name == "pw" || name == "README.md" ||
			strings.HasSuffix(name, "-cert.pub") {
			t.Errorf("%s listed as a key: %+v", name, k)
		}
		byName[name] = k
	}
	for _, name := range vectorKeyFiles(t, src) {
		_, isPublic := strings.CutSuffix(name, ".pub")
		_, hasPub := os.Stat(filepath.Join(src, name+".pub"))
		k, listed := byName[name]
		switch {
		case strings.HasSuffix(name, "-cert.pub"):
			continue
		case isPublic:
			if _, err := os.Stat(filepath.Join(src, strings.TrimSuffix(name, ".pub"))); err == nil && listed {
				t.Errorf("%s listed on its own although its private key is there", name)
			}
			continue
		case !listed:
			t.Errorf("%s not listed", name)
			continue
		}
		if hasPub == nil && k.PublicKeyPath != filepath.Join(dir, name+".pub") {
			t.Errorf("%s: not paired with its .pub: %+v", name, k)
		}
		if hasProblem(k, "does not match") || hasProblem(k, "does not parse") || hasProblem(k, "certificate") {
			t.Errorf("%s: unexpected problems %q", name, k.Problems)
		}
		if want := fps[vectorBase(name)]; k.Fingerprint != "" && k.Fingerprint != want {
			t.Errorf("%s: fingerprint %s, want %s", name, k.Fingerprint, want)
		}
	}
	expect := []struct{ name, typ, problem, cert string }{
		{"rsa_1", "ssh-rsa", "rsa key of 1024 bits: Bitbucket needs at least 2048", "rsa_1-cert.pub"},
		{"ed25519_1", "ssh-ed25519", "", "ed25519_1-cert.pub"},
		{"ecdsa_1", "ecdsa-sha2-nistp256", "", "ecdsa_1-cert.pub"},
		{"ed25519_sk1", "sk-ssh-ed25519@openssh.com", "security-key (fido) private key", "ed25519_sk1-cert.pub"},
		{"ecdsa_sk1_pw", "sk-ecdsa-sha2-nistp256@openssh.com", "security-key (fido) private key", ""},
		{"mldsa44_ed25519_1", typeMLDSA, "keys are not supported", "mldsa44_ed25519_1-cert.pub"},
		{"mldsa44_ed25519_2", typeMLDSA, "keys are not supported", ""},
		{"rsa_1_pw", "", "public key file " + filepath.Join(dir, "rsa_1_pw.pub") + " is missing", ""},
	}
	for _, e := range expect {
		k := byName[e.name]
		if k.Type != e.typ || (e.problem != "" && !hasProblem(k, e.problem)) || (e.problem == "" && len(k.Problems) > 0) {
			t.Errorf("%s: got type %q problems %q; want type %q and a problem %q", e.name, k.Type, k.Problems, e.typ, e.problem)
		}
		if strings.HasPrefix(e.problem, "security-key") && !k.HasProblem(ProblemSecurityKey) ||
			strings.Contains(e.problem, "Bitbucket needs") && !k.HasProblem(ProblemRefusedType) {
			t.Errorf("%s: problems %v lack the kind of %q", e.name, k.Problems, e.problem)
		}
		if e.cert != "" && k.CertificatePath != filepath.Join(dir, e.cert) {
			t.Errorf("%s: certificate %q, want %s", e.name, k.CertificatePath, e.cert)
		}
	}
}

// TestOpenSSHVectorsNoCrash feeds every vector file, whatever it holds, to
// every entry point.
func TestOpenSSHVectorsNoCrash(t *testing.T) {
	src := vectorsDir(t)
	entries, _ := os.ReadDir(src)
	for _, e := range entries {
		dir := t.TempDir()
		path := filepath.Join(dir, "id_test")
		copyFile(t, filepath.Join(src, e.Name()), path, 0o600)
		data, _ := os.ReadFile(path)
		_, _, _ = ParsePublicKeyLine(data)
		_, _ = parsePrivateKey(data)
		if _, err := FindKeyPairs(dir); err != nil {
			t.Errorf("%s: %v", e.Name(), err)
		}
		_, _ = IsEncrypted(path)
		_, _ = loadSigner(path, nil)
		_, _ = loadSigner(path, []byte("mekmitasdigoat"))
	}
}

// TestOpenSSHVectorsAgainstSSHKeygen reads each vector file alone, as
// ssh-keygen -l does, and wants the same type, bits, fingerprint and comment
// for every file the installed ssh-keygen can read.
func TestOpenSSHVectorsAgainstSSHKeygen(t *testing.T) {
	src := vectorsDir(t)
	sshKeygen := testutil.RequireTool(t, "ssh-keygen")
	compared := 0
	for _, name := range vectorKeyFiles(t, src) {
		dir := t.TempDir()
		path := filepath.Join(dir, name)
		copyFile(t, filepath.Join(src, name), path, 0o600)
		want, ok := keygenFingerprint(t, sshKeygen, path)
		if !ok {
			continue // too new for this ssh-keygen (mldsa44), or encrypted PEM
		}
		compared++
		var k Key
		if strings.HasSuffix(name, "-cert.pub") {
			data, _ := os.ReadFile(path)
			pk, err := parsePublicKeyText(data)
			if err != nil {
				t.Errorf("%s: %v", name, err)
				continue
			}
			// ssh-keygen names the certificate type, fingerprints the key.
			k = Key{Type: pk.key.Type(), Bits: pk.bits, Fingerprint: fingerprintBlob(pk.blob), Comment: pk.comment}
		} else {
			k = findOne(t, dir)
		}
		checkAgainstKeygen(t, name, k, want)
	}
	if compared < 30 {
		t.Errorf("ssh-keygen read only %d vector files", compared)
	}
}
