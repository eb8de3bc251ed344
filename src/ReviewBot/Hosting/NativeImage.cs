using System.Runtime.InteropServices;

namespace ReviewBot.Hosting;

// The start-up half of Native/startup.c, linked into the native-AOT binary (ReviewBot.csproj:
// LinkerArg and DirectPInvoke). Under the JIT (tests, `make run`, `make demo`) there is no such code and
// nothing to do: the runtime does not expand type data there. (RuntimeFeature.IsDynamicCodeSupported
// cannot tell the two apart: PublishAot sets it false in the JIT build's runtimeconfig too.)
internal static class NativeImage
{
    private const string Library = "reviewbot_startup";

    // What the image's start-up did: PopulateError is 0 when the expanded type data's pages were
    // populated in one call before the runtime started (else the errno: older kernels refuse),
    // HugePageError 0 when the kernel took the advice to back those pages with transparent huge pages,
    // ReleasedBytes how much of the compressed copy was dropped afterwards (negative: -errno).
    internal readonly record struct StartupReport(int PopulateError, int HugePageError, long ReleasedBytes);

    public static StartupReport? ReleaseStartupData()
    {
        try
        {
            return new StartupReport(PopulateResult(), HugePageResult(), ReleaseDehydratedData());
        }
        catch (DllNotFoundException)
        {
            // The JIT looks the library up at the first call; the native binary calls it directly.
            return null;
        }
    }

    // Blittable signatures: no marshalling, so DllImport needs no generated stub (nor unsafe code).
    [DllImport(Library, EntryPoint = "reviewbot_populate_result")]
    private static extern int PopulateResult();

    [DllImport(Library, EntryPoint = "reviewbot_huge_page_result")]
    private static extern int HugePageResult();

    [DllImport(Library, EntryPoint = "reviewbot_release_dehydrated_data")]
    private static extern long ReleaseDehydratedData();
}
