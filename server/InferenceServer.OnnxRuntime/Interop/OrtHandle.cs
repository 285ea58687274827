using System.Runtime.InteropServices;

namespace InferenceServer.OnnxRuntime.Interop;

/// <summary>
/// Owns one native ONNX Runtime object and releases it exactly once. The handle object is created
/// before the native call that fills it, so nothing can fail between the native allocation and
/// the moment something owns it.
/// </summary>
internal abstract class OrtHandle : SafeHandle
{
    protected OrtHandle()
        : base(0, ownsHandle: true)
    {
    }

    public override bool IsInvalid => handle == 0;

    /// <summary>Takes ownership of what a native create call wrote; a zero (failed call) leaves the handle invalid.</summary>
    public void Attach(nint native) => SetHandle(native);
}
