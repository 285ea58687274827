namespace InferenceServer.OnnxRuntime.Interop;

/// <summary>Names of ONNX Runtime's <c>OrtErrorCode</c> values, as <see cref="Core.Backends.BackendException.Code"/> carries them.</summary>
internal static class OrtErrorCodes
{
    public const int InvalidArgument = 2;

    // Indexed by the enum's value; newer runtimes may append codes, which fall through to a numeric name.
    private static readonly string[] Names =
    [
        "OK", "FAIL", "INVALID_ARGUMENT", "NO_SUCHFILE", "NO_MODEL", "ENGINE_ERROR", "RUNTIME_EXCEPTION",
        "INVALID_PROTOBUF", "MODEL_LOADED", "NOT_IMPLEMENTED", "INVALID_GRAPH", "EP_FAIL", "MODEL_LOAD_CANCELED",
        "MODEL_REQUIRES_COMPILATION", "NOT_FOUND", "DEVICE_RESET",
    ];

    public static string Name(int code) =>
        (uint)code < (uint)Names.Length ? Names[code] : "ORT_ERROR_" + code.ToString(System.Globalization.CultureInfo.InvariantCulture);
}
