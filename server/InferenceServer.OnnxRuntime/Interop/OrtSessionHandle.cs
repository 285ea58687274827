namespace InferenceServer.OnnxRuntime.Interop;

/// <summary>An <c>OrtSession</c>.</summary>
internal sealed unsafe class OrtSessionHandle : OrtHandle
{
    protected override bool ReleaseHandle()
    {
        OrtRuntime.Shared.Api.ReleaseSession(handle);
        return true;
    }
}
