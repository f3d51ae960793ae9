package usersig_test

import (
	"fmt"
	"time"

	"github.com/termcall/termcall/protocol"
	"github.com/termcall/termcall/usersig"
)

func Example() {
	const (
		sdkAppID = 1400000001
		secret   = "development-secret"
	)
	issued := time.Date(2025, 1, 1, 12, 0, 0, 0, time.UTC)

	sig, err := usersig.GenAt(sdkAppID, secret, "alice", issued, 24*time.Hour)
	if err != nil {
		panic(err)
	}

	info, err := usersig.Verify(sig, sdkAppID, secret, "alice", issued.Add(time.Hour))
	fmt.Println(info.Identifier, info.ExpiresAt().Format(time.RFC3339), err)

	_, err = usersig.Verify(sig, sdkAppID, secret, "bob", issued.Add(time.Hour))
	fmt.Println(protocol.CodeOf(err) == protocol.CodeUserSigMismatch)

	_, err = usersig.Verify(sig, sdkAppID, secret, "alice", issued.Add(48*time.Hour))
	fmt.Println(err)
	// Output:
	// alice 2025-01-02T12:00:00Z <nil>
	// true
	// userSig expired (2002): userSig expired at 2025-01-02T12:00:00Z
}

// The worked example of docs/protocol.md ("userSig").
func ExampleGenAt_documented() {
	sig, err := usersig.GenAt(1400000001, "development-secret", "alice", time.Unix(1735732800, 0), 24*time.Hour)
	if err != nil {
		panic(err)
	}
	fmt.Println(sig)
	// Output:
	// eJyqVgrxCdZLrSjILEpVsrIwMzEw0AELZaak5pVkpmWmFilZKSXmZCanKkEkilOyEwsKMlOUrAxNDCDAECqTma5kpVRYoV1sWpReEZKd5VRRHuJhFlUSaRwUlubm7BpUGpwUXu6VXeFRnOTmqJ9vCzWyJDM3VcnK0NzY1NzYyALmgjKw1UZ6Bkq1gAAAAP--jlExeQ__
}
