using InferenceServer.Core.Backends;
using Microsoft.ML.OnnxRuntime;

namespace InferenceServer.OnnxRuntime;

/// <summary>
/// Turns ONNX Runtime's errors into <see cref="BackendException"/>s that carry its code by the C
/// API's name (<c>INVALID_ARGUMENT</c>, <c>NO_SUCHFILE</c>, ...) and its message, with no server path in it.
/// </summary>
/// <remarks>
/// The managed API reports the code only inside the message, as <c>[ErrorCode:Name] text</c>, and
/// its names stop at code 12 and differ from the C API's from code 11 on (its 11 and 12 are the C
/// API's EP_FAIL and MODEL_LOAD_CANCELED), so the name is mapped here by its position in that enum.
/// </remarks>
internal static class OrtErrors
{
    private const string Prefix = "[ErrorCode:";

    // The managed enum's names in order, with the C API name of the same numeric code.
    private static readonly (string Managed, string Code)[] Codes =
    [
        ("Ok", "OK"), ("Fail", "FAIL"), ("InvalidArgument", "INVALID_ARGUMENT"), ("NoSuchFile", "NO_SUCHFILE"),
        ("NoModel", "NO_MODEL"), ("EngineError", "ENGINE_ERROR"), ("RuntimeException", "RUNTIME_EXCEPTION"),
        ("InvalidProtobuf", "INVALID_PROTOBUF"), ("ModelLoaded", "MODEL_LOADED"), ("NotImplemented", "NOT_IMPLEMENTED"),
        ("InvalidGraph", "INVALID_GRAPH"), ("ShapeInferenceNotRegistered", "EP_FAIL"), ("RequirementNotRegistered", "MODEL_LOAD_CANCELED"),
    ];

    /// <summary>
    /// <paramref name="context"/> says what was being done; <paramref name="modelPath"/>, when given, is
    /// replaced in ONNX Runtime's text by the file's place in its model folder (e.g. <c>1/model.onnx</c>).
    /// </summary>
    public static BackendException Translate(OnnxRuntimeException error, string context, string? modelPath = null)
    {
        var (code, message) = Split(error.Message);
        return new BackendException($"{context}: {HidePaths(message, modelPath)}", code, error);
    }

    /// <summary>The managed API throws this when ONNX Runtime returns a code it has no name for (13 and up).</summary>
    public static BackendException Unnamed(KeyNotFoundException error, string context) =>
        new($"{context}: ONNX Runtime reported an error with a code this binding cannot name", "FAIL", error);

    internal static (string Code, string Message) Split(string text)
    {
        if (text.StartsWith(Prefix, StringComparison.Ordinal))
        {
            var end = text.IndexOf(']', Prefix.Length);
            if (end > 0)
            {
                var name = text.AsSpan(Prefix.Length, end - Prefix.Length);
                foreach (var (managed, code) in Codes)
                {
                    if (name.SequenceEqual(managed))
                    {
                        return (code, text.AsSpan(end + 1).TrimStart().ToString());
                    }
                }
            }
        }
        return ("FAIL", text);
    }

    /// <summary>Replaces the model folder's absolute path in <paramref name="message"/> by nothing, so files read as <c>1/model.onnx</c>.</summary>
    internal static string HidePaths(string message, string? modelPath)
    {
        if (string.IsNullOrEmpty(modelPath))
        {
            return message;
        }
        var modelFolder = Path.GetDirectoryName(Path.GetDirectoryName(modelPath));
        if (string.IsNullOrEmpty(modelFolder))
        {
            return message.Replace(modelPath, Path.GetFileName(modelPath), StringComparison.Ordinal);
        }
        return message.Replace(modelFolder + Path.DirectorySeparatorChar, "", StringComparison.Ordinal)
            .Replace(modelFolder, ".", StringComparison.Ordinal);
    }
}
