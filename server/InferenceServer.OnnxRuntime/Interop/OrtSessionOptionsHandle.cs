namespace InferenceServer.OnnxRuntime.Interop;

/// <summary>An <c>OrtSessionOptions</c>.</summary>
internal sealed unsafe class OrtSessionOptionsHandle : OrtHandle
{
    protected override bool ReleaseHandle()
    {
        OrtRuntime.Shared.Api.ReleaseSessionOptions(handle);
        return true;
    }
}
