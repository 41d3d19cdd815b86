/*
 * TEST-ONLY shim for running Windows builds of git-bbkey under Wine 8
 * (.ci/wine-tests.sh). Never shipped.
 *
 * Go 1.24+ gets its random numbers from ProcessPrng in bcryptprimitives.dll,
 * which Windows 10+ has and Wine 8.0 (Debian 12) lacks, so every Go
 * program dies at start under Wine ("bcryptprimitives.dll not found").
 * This DLL, copied into the Wine prefix's system32 as bcryptprimitives.dll,
 * provides ProcessPrng over RtlGenRandom (advapi32's SystemFunction036),
 * which Wine implements from the host's random source.
 *
 * Build: x86_64-w64-mingw32-gcc -shared -O2 -o bcryptprimitives.dll \
 *            processprng.c -ladvapi32
 */
#include <windows.h>

/* RtlGenRandom: exported by advapi32 under this name. */
BOOLEAN WINAPI SystemFunction036(PVOID buffer, ULONG length);

/* ProcessPrng always succeeds on Windows; it returns TRUE. RtlGenRandom
 * takes a ULONG length, so fill large requests in pieces. */
__declspec(dllexport) BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T length)
{
	while (length > 0) {
		ULONG n = length > 0x40000000 ? 0x40000000 : (ULONG)length;
		if (!SystemFunction036(data, n))
			return FALSE;
		data += n;
		length -= n;
	}
	return TRUE;
}
