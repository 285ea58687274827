using System.Runtime.InteropServices;

namespace InferenceServer.OnnxRuntime.Interop;

/// <summary>One block of zeroed native memory, freed exactly once.</summary>
internal sealed unsafe class NativeBlock : SafeHandle
{
    private NativeBlock()
        : base(0, ownsHandle: true)
    {
    }

    public override bool IsInvalid => handle == 0;

    public void* Pointer => (void*)handle;

    public static NativeBlock Allocate(nuint byteCount)
    {
        var block = new NativeBlock();
        // malloc(0) may return null; one byte keeps the handle valid and the pointer usable.
        block.SetHandle((nint)NativeMemory.AllocZeroed(byteCount == 0 ? 1 : byteCount));
        return block;
    }

    protected override bool ReleaseHandle()
    {
        NativeMemory.Free((void*)handle);
        return true;
    }
}
