using System.Diagnostics.CodeAnalysis;
using System.Runtime.CompilerServices;
using InferenceServer.Core.Backends;

namespace InferenceServer.OnnxRuntime.Interop;

/// <summary>
/// The entries of ONNX Runtime's C API table (<c>struct OrtApi</c> in onnxruntime_c_api.h) that this
/// backend calls, read once as unmanaged function pointers. Handles are passed as <see cref="nint"/>.
/// </summary>
/// <remarks>
/// A slot number is the entry's position in <c>struct OrtApi</c>. The table is append-only, so the
/// numbers hold for every library that accepts <see cref="OrtRuntime.ApiVersion"/>. They were counted
/// from the header and cross-checked against the static_asserts in onnxruntime_c_api.cc
/// (ReleaseCustomOpDomain = 101, ReleaseModelMetadata = 118, ReleaseAvailableProviders = 126,
/// GetBuildInfoString = 254); <see cref="OrtRuntime"/> also probes slots 0-2 and 93 at load.
/// A wrong number here calls the wrong native function, so change them only against the header.
/// </remarks>
internal sealed unsafe class OrtApi
{
    private const int CreateStatusSlot = 0;
    private const int GetErrorCodeSlot = 1;
    private const int GetErrorMessageSlot = 2;
    private const int CreateEnvSlot = 3;
    private const int CreateSessionSlot = 7;
    private const int RunSlot = 9;
    private const int CreateSessionOptionsSlot = 10;
    private const int SetSessionExecutionModeSlot = 13;
    private const int EnableMemPatternSlot = 16;
    private const int DisableMemPatternSlot = 17;
    private const int EnableCpuMemArenaSlot = 18;
    private const int DisableCpuMemArenaSlot = 19;
    private const int SetSessionGraphOptimizationLevelSlot = 23;
    private const int SetIntraOpNumThreadsSlot = 24;
    private const int SetInterOpNumThreadsSlot = 25;
    private const int SessionGetInputCountSlot = 30;
    private const int SessionGetOutputCountSlot = 31;
    private const int SessionGetInputTypeInfoSlot = 33;
    private const int SessionGetOutputTypeInfoSlot = 34;
    private const int SessionGetInputNameSlot = 36;
    private const int SessionGetOutputNameSlot = 37;
    private const int CreateTensorAsOrtValueSlot = 48;
    private const int CreateTensorWithDataAsOrtValueSlot = 49;
    private const int GetTensorMutableDataSlot = 51;
    private const int FillStringTensorSlot = 52;
    private const int GetStringTensorDataLengthSlot = 53;
    private const int GetStringTensorContentSlot = 54;
    private const int CastTypeInfoToTensorInfoSlot = 55;
    private const int GetOnnxTypeFromTypeInfoSlot = 56;
    private const int GetTensorElementTypeSlot = 60;
    private const int GetDimensionsCountSlot = 61;
    private const int GetDimensionsSlot = 62;
    private const int GetTensorTypeAndShapeSlot = 65;
    private const int CreateCpuMemoryInfoSlot = 69;
    private const int AllocatorFreeSlot = 76;
    private const int GetAllocatorWithDefaultOptionsSlot = 78;
    private const int ReleaseStatusSlot = 93;
    private const int ReleaseSessionSlot = 95;
    private const int ReleaseValueSlot = 96;
    private const int ReleaseTypeInfoSlot = 98;
    private const int ReleaseTensorTypeAndShapeInfoSlot = 99;
    private const int ReleaseSessionOptionsSlot = 100;
    private const int GetAvailableProvidersSlot = 125;
    private const int ReleaseAvailableProvidersSlot = 126;
    private const int GetResizedStringTensorElementBufferSlot = 252;

    public OrtApi(nint table)
    {
        var slot = (nint*)table;
        CreateStatus = (delegate* unmanaged[Cdecl]<int, byte*, nint>)slot[CreateStatusSlot];
        GetErrorCode = (delegate* unmanaged[Cdecl]<nint, int>)slot[GetErrorCodeSlot];
        GetErrorMessage = (delegate* unmanaged[Cdecl]<nint, byte*>)slot[GetErrorMessageSlot];
        CreateEnv = (delegate* unmanaged[Cdecl]<int, byte*, nint*, nint>)slot[CreateEnvSlot];
        CreateSession = (delegate* unmanaged[Cdecl]<nint, byte*, nint, nint*, nint>)slot[CreateSessionSlot];
        Run = (delegate* unmanaged[Cdecl]<nint, nint, byte**, nint*, nuint, byte**, nuint, nint*, nint>)slot[RunSlot];
        CreateSessionOptions = (delegate* unmanaged[Cdecl]<nint*, nint>)slot[CreateSessionOptionsSlot];
        SetSessionExecutionMode = (delegate* unmanaged[Cdecl]<nint, int, nint>)slot[SetSessionExecutionModeSlot];
        EnableMemPattern = (delegate* unmanaged[Cdecl]<nint, nint>)slot[EnableMemPatternSlot];
        DisableMemPattern = (delegate* unmanaged[Cdecl]<nint, nint>)slot[DisableMemPatternSlot];
        EnableCpuMemArena = (delegate* unmanaged[Cdecl]<nint, nint>)slot[EnableCpuMemArenaSlot];
        DisableCpuMemArena = (delegate* unmanaged[Cdecl]<nint, nint>)slot[DisableCpuMemArenaSlot];
        SetSessionGraphOptimizationLevel = (delegate* unmanaged[Cdecl]<nint, int, nint>)slot[SetSessionGraphOptimizationLevelSlot];
        SetIntraOpNumThreads = (delegate* unmanaged[Cdecl]<nint, int, nint>)slot[SetIntraOpNumThreadsSlot];
        SetInterOpNumThreads = (delegate* unmanaged[Cdecl]<nint, int, nint>)slot[SetInterOpNumThreadsSlot];
        SessionGetInputCount = (delegate* unmanaged[Cdecl]<nint, nuint*, nint>)slot[SessionGetInputCountSlot];
        SessionGetOutputCount = (delegate* unmanaged[Cdecl]<nint, nuint*, nint>)slot[SessionGetOutputCountSlot];
        SessionGetInputTypeInfo = (delegate* unmanaged[Cdecl]<nint, nuint, nint*, nint>)slot[SessionGetInputTypeInfoSlot];
        SessionGetOutputTypeInfo = (delegate* unmanaged[Cdecl]<nint, nuint, nint*, nint>)slot[SessionGetOutputTypeInfoSlot];
        SessionGetInputName = (delegate* unmanaged[Cdecl]<nint, nuint, nint, byte**, nint>)slot[SessionGetInputNameSlot];
        SessionGetOutputName = (delegate* unmanaged[Cdecl]<nint, nuint, nint, byte**, nint>)slot[SessionGetOutputNameSlot];
        CreateTensorAsOrtValue = (delegate* unmanaged[Cdecl]<nint, long*, nuint, int, nint*, nint>)slot[CreateTensorAsOrtValueSlot];
        CreateTensorWithDataAsOrtValue = (delegate* unmanaged[Cdecl]<nint, void*, nuint, long*, nuint, int, nint*, nint>)slot[CreateTensorWithDataAsOrtValueSlot];
        GetTensorMutableData = (delegate* unmanaged[Cdecl]<nint, void**, nint>)slot[GetTensorMutableDataSlot];
        FillStringTensor = (delegate* unmanaged[Cdecl]<nint, byte**, nuint, nint>)slot[FillStringTensorSlot];
        GetStringTensorDataLength = (delegate* unmanaged[Cdecl]<nint, nuint*, nint>)slot[GetStringTensorDataLengthSlot];
        GetStringTensorContent = (delegate* unmanaged[Cdecl]<nint, void*, nuint, nuint*, nuint, nint>)slot[GetStringTensorContentSlot];
        CastTypeInfoToTensorInfo = (delegate* unmanaged[Cdecl]<nint, nint*, nint>)slot[CastTypeInfoToTensorInfoSlot];
        GetOnnxTypeFromTypeInfo = (delegate* unmanaged[Cdecl]<nint, int*, nint>)slot[GetOnnxTypeFromTypeInfoSlot];
        GetTensorElementType = (delegate* unmanaged[Cdecl]<nint, int*, nint>)slot[GetTensorElementTypeSlot];
        GetDimensionsCount = (delegate* unmanaged[Cdecl]<nint, nuint*, nint>)slot[GetDimensionsCountSlot];
        GetDimensions = (delegate* unmanaged[Cdecl]<nint, long*, nuint, nint>)slot[GetDimensionsSlot];
        GetTensorTypeAndShape = (delegate* unmanaged[Cdecl]<nint, nint*, nint>)slot[GetTensorTypeAndShapeSlot];
        CreateCpuMemoryInfo = (delegate* unmanaged[Cdecl]<int, int, nint*, nint>)slot[CreateCpuMemoryInfoSlot];
        AllocatorFree = (delegate* unmanaged[Cdecl]<nint, void*, nint>)slot[AllocatorFreeSlot];
        GetAllocatorWithDefaultOptions = (delegate* unmanaged[Cdecl]<nint*, nint>)slot[GetAllocatorWithDefaultOptionsSlot];
        ReleaseStatus = (delegate* unmanaged[Cdecl]<nint, void>)slot[ReleaseStatusSlot];
        ReleaseSession = (delegate* unmanaged[Cdecl]<nint, void>)slot[ReleaseSessionSlot];
        ReleaseValue = (delegate* unmanaged[Cdecl]<nint, void>)slot[ReleaseValueSlot];
        ReleaseTypeInfo = (delegate* unmanaged[Cdecl]<nint, void>)slot[ReleaseTypeInfoSlot];
        ReleaseTensorTypeAndShapeInfo = (delegate* unmanaged[Cdecl]<nint, void>)slot[ReleaseTensorTypeAndShapeInfoSlot];
        ReleaseSessionOptions = (delegate* unmanaged[Cdecl]<nint, void>)slot[ReleaseSessionOptionsSlot];
        GetAvailableProviders = (delegate* unmanaged[Cdecl]<byte***, int*, nint>)slot[GetAvailableProvidersSlot];
        ReleaseAvailableProviders = (delegate* unmanaged[Cdecl]<byte**, int, nint>)slot[ReleaseAvailableProvidersSlot];
        GetResizedStringTensorElementBuffer = (delegate* unmanaged[Cdecl]<nint, nuint, nuint, byte**, nint>)slot[GetResizedStringTensorElementBufferSlot];
    }

    public readonly delegate* unmanaged[Cdecl]<int, byte*, nint> CreateStatus;
    public readonly delegate* unmanaged[Cdecl]<nint, int> GetErrorCode;
    public readonly delegate* unmanaged[Cdecl]<nint, byte*> GetErrorMessage;
    public readonly delegate* unmanaged[Cdecl]<int, byte*, nint*, nint> CreateEnv;
    public readonly delegate* unmanaged[Cdecl]<nint, byte*, nint, nint*, nint> CreateSession;
    public readonly delegate* unmanaged[Cdecl]<nint, nint, byte**, nint*, nuint, byte**, nuint, nint*, nint> Run;
    public readonly delegate* unmanaged[Cdecl]<nint*, nint> CreateSessionOptions;
    public readonly delegate* unmanaged[Cdecl]<nint, int, nint> SetSessionExecutionMode;
    public readonly delegate* unmanaged[Cdecl]<nint, nint> EnableMemPattern;
    public readonly delegate* unmanaged[Cdecl]<nint, nint> DisableMemPattern;
    public readonly delegate* unmanaged[Cdecl]<nint, nint> EnableCpuMemArena;
    public readonly delegate* unmanaged[Cdecl]<nint, nint> DisableCpuMemArena;
    public readonly delegate* unmanaged[Cdecl]<nint, int, nint> SetSessionGraphOptimizationLevel;
    public readonly delegate* unmanaged[Cdecl]<nint, int, nint> SetIntraOpNumThreads;
    public readonly delegate* unmanaged[Cdecl]<nint, int, nint> SetInterOpNumThreads;
    public readonly delegate* unmanaged[Cdecl]<nint, nuint*, nint> SessionGetInputCount;
    public readonly delegate* unmanaged[Cdecl]<nint, nuint*, nint> SessionGetOutputCount;
    public readonly delegate* unmanaged[Cdecl]<nint, nuint, nint*, nint> SessionGetInputTypeInfo;
    public readonly delegate* unmanaged[Cdecl]<nint, nuint, nint*, nint> SessionGetOutputTypeInfo;
    public readonly delegate* unmanaged[Cdecl]<nint, nuint, nint, byte**, nint> SessionGetInputName;
    public readonly delegate* unmanaged[Cdecl]<nint, nuint, nint, byte**, nint> SessionGetOutputName;
    public readonly delegate* unmanaged[Cdecl]<nint, long*, nuint, int, nint*, nint> CreateTensorAsOrtValue;
    public readonly delegate* unmanaged[Cdecl]<nint, void*, nuint, long*, nuint, int, nint*, nint> CreateTensorWithDataAsOrtValue;
    public readonly delegate* unmanaged[Cdecl]<nint, void**, nint> GetTensorMutableData;
    public readonly delegate* unmanaged[Cdecl]<nint, byte**, nuint, nint> FillStringTensor;
    public readonly delegate* unmanaged[Cdecl]<nint, nuint*, nint> GetStringTensorDataLength;
    public readonly delegate* unmanaged[Cdecl]<nint, void*, nuint, nuint*, nuint, nint> GetStringTensorContent;
    public readonly delegate* unmanaged[Cdecl]<nint, nint*, nint> CastTypeInfoToTensorInfo;
    public readonly delegate* unmanaged[Cdecl]<nint, int*, nint> GetOnnxTypeFromTypeInfo;
    public readonly delegate* unmanaged[Cdecl]<nint, int*, nint> GetTensorElementType;
    public readonly delegate* unmanaged[Cdecl]<nint, nuint*, nint> GetDimensionsCount;
    public readonly delegate* unmanaged[Cdecl]<nint, long*, nuint, nint> GetDimensions;
    public readonly delegate* unmanaged[Cdecl]<nint, nint*, nint> GetTensorTypeAndShape;
    public readonly delegate* unmanaged[Cdecl]<int, int, nint*, nint> CreateCpuMemoryInfo;
    public readonly delegate* unmanaged[Cdecl]<nint, void*, nint> AllocatorFree;
    public readonly delegate* unmanaged[Cdecl]<nint*, nint> GetAllocatorWithDefaultOptions;
    public readonly delegate* unmanaged[Cdecl]<nint, void> ReleaseStatus;
    public readonly delegate* unmanaged[Cdecl]<nint, void> ReleaseSession;
    public readonly delegate* unmanaged[Cdecl]<nint, void> ReleaseValue;
    public readonly delegate* unmanaged[Cdecl]<nint, void> ReleaseTypeInfo;
    public readonly delegate* unmanaged[Cdecl]<nint, void> ReleaseTensorTypeAndShapeInfo;
    public readonly delegate* unmanaged[Cdecl]<nint, void> ReleaseSessionOptions;
    public readonly delegate* unmanaged[Cdecl]<byte***, int*, nint> GetAvailableProviders;
    public readonly delegate* unmanaged[Cdecl]<byte**, int, nint> ReleaseAvailableProviders;
    public readonly delegate* unmanaged[Cdecl]<nint, nuint, nuint, byte**, nint> GetResizedStringTensorElementBuffer;

    /// <summary>Throws a <see cref="BackendException"/> for a non-null status, releasing the status first.</summary>
    /// <param name="status">What the native call returned.</param>
    /// <param name="context">What was being done, for the message; pass a literal so success costs nothing.</param>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Check(nint status, string context)
    {
        if (status != 0)
        {
            ThrowFromStatus(status, context);
        }
    }

    [DoesNotReturn]
    [MethodImpl(MethodImplOptions.NoInlining)]
    private void ThrowFromStatus(nint status, string context)
    {
        string message;
        int code;
        try
        {
            code = GetErrorCode(status);
            message = Utf8String.Read(GetErrorMessage(status));
        }
        finally
        {
            ReleaseStatus(status);
        }
        throw new BackendException($"{context}: {message}", OrtErrorCodes.Name(code));
    }
}
