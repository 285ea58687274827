using System.Runtime.InteropServices;
using System.Text;

namespace InferenceServer.OnnxRuntime.Interop;

/// <summary>Conversions between .NET strings and the NUL-terminated UTF-8 strings the C API uses.</summary>
internal static unsafe class Utf8String
{
    public static string Read(byte* text) =>
        text == null ? "" : Encoding.UTF8.GetString(MemoryMarshal.CreateReadOnlySpanFromNullTerminated(text));

    /// <summary>A managed NUL-terminated copy, for calls made once per session (paths, log ids).</summary>
    public static byte[] ToNullTerminated(string text)
    {
        var bytes = new byte[Encoding.UTF8.GetByteCount(text) + 1];
        Encoding.UTF8.GetBytes(text, bytes);
        return bytes;
    }
}
