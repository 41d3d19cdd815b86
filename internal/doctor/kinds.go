package doctor

// Kind says what a check found. Each belongs to one check name; the
// message that goes with it is for people only.
type Kind int

const (
	_ Kind = iota

	// ssh-dir
	SSHDirOK
	SSHDirMissing
	SSHDirUnreadable
	SSHDirNotDir
	SSHDirWritable // by group or others: ssh may refuse its files
	SSHDirReadable // by group or others
	SSHDirNotUsable

	// keys, key, key-mode, key-load, key-pair, key-type, key-parse, key-leftover
	KeysUnreadable
	KeyOK
	KeyUnprotected // OpenSSH refuses the private key for its mode or ACL
	KeyNotLoadable // OpenSSH refuses the private key for its content
	KeyNoPrivate
	KeyNoPublic
	KeyRefusedType // a type or size Bitbucket refuses
	KeyUnparsable
	KeyPublicMismatch
	KeyProblem // another problem sshkeys found
	NoKey
	NoDefaultKey
	KeyFileMissing // bbkey.keyFile names no file
	KeyLeftover

	// ssh, ssh-home
	SSHCommandUnknown
	SSHFound
	SSHMissing    // not installed: settings read without it
	SSHNotOpenSSH // plink and the like: settings guessed
	SSHHomeSame   // OpenSSH's home differs, but git's ssh command names its files
	SSHHomeKey    // OpenSSH looks for keys under another home
	SSHHomeFiles  // OpenSSH reads config or known_hosts under another home
	// OpenSSH's known_hosts under its home lacks the host, and it refuses
	// unknown hosts
	SSHHomeKnownHosts
	RSANoKeys   // rsa-sha1
	RSAOldSSH   // OpenSSH before 8.8 still signs with ssh-rsa
	RSAEnabled  // PubkeyAcceptedAlgorithms has ssh-rsa
	RSASHA1Trap // OpenSSH 8.8+ will not sign with ssh-rsa
	RSAUnknown  // no ssh, or no version
	AgentNone   // agent
	AgentNeeded // an encrypted key and no agent
	AgentDown   // SSH_AUTH_SOCK set, nobody answers
	AgentListFailed
	AgentHolds
	AgentLacksKey // it lacks the encrypted default key

	// ssh-config
	SSHConfigNone
	SSHConfigOK
	SSHConfigWritable // by group or others: ssh refuses it
	SSHConfigRefused  // ssh -G stops with an error
	SSHConfigMissingIdentity
	SSHConfigAgentFlood // many agent keys, IdentitiesOnly no

	// known-hosts
	HostKeyMatches
	HostKeyKnown // known, not compared with the server
	HostKeyUnknown
	HostKeyChanged
	HostKeyRevoked          // the known key is @revoked
	HostKeyPublishedRevoked // the key the server publishes is @revoked
	KnownHostsUnreadable
	HostKeySkipped

	// server
	ServerNone
	ServerBadURL
	ServerOK
	ServerNeedsCredentials
	ServerCredentialsRejected
	ServerNotBitbucket
	ServerUnreachable
	ServerSSHDisabled

	// key-registered
	KeyRegisteredUser
	KeyRegisteredAccess
	KeyNotRegistered
	KeyRegisteredUnsure // not a user key; access keys could not be listed
	KeyRegisteredAgent  // the file key is not registered, an agent key is
	KeyRegistrationUnknown

	// remote, remote-key, repo
	RemoteNotRepository
	RemoteNone
	RemoteUnreadable
	RemoteBadURL
	RemoteNotBitbucket
	RemoteUnknownHost // no server, or its SSH address, to compare with
	RemoteHTTPS
	RemoteOK
	RemoteWrongPort
	RemotePort22 // scp-like, and the server's port is not known
	RemoteSettingsFailed
	RemoteNoIdentity // ssh finds no identity file
	RemoteKeyDiffers // git's ssh offers another key than git-bbkey uses
	RepoExists
	RepoMissing
	RepoDenied
	RepoUnknown
)
