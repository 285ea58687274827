using System.Buffers;
using System.Buffers.Text;
using InferenceServer.Core.Inference;
using InferenceServer.Core.Lifecycle;

namespace InferenceServer.Protocols.Http;

/// <summary>
/// Writes a file that a load request carries in base64 (a <c>file:</c> parameter's JSON string) into the upload,
/// decoding it a piece at a time, so that the request body is the only copy of the file in memory. The string is
/// decoded as written, escapes included: JSON writers escape characters of the base64 alphabet (System.Text.Json writes
/// '+' as <c>\u002B</c>, others '/' as <c>\/</c>), and unescaping it whole first would be a second copy.
/// </summary>
internal static class Base64FileDecoder
{
    // Base64 characters decoded per piece (a multiple of 4): 48 KiB of file per write.
    private const int Chunk = 64 * 1024;

    /// <summary>
    /// Decodes <paramref name="raw"/> (the string's bytes between its quotes; <paramref name="escaped"/> when it has
    /// escapes) into the file at <paramref name="path"/> of <paramref name="upload"/>; InvalidArgument naming
    /// <paramref name="parameter"/> when it is not base64.
    /// </summary>
    public static void Write(ModelUpload upload, string path, ReadOnlySpan<byte> raw, bool escaped, string parameter)
    {
        if (!escaped && raw.IndexOf((byte)' ') < 0)
        {
            // As most clients write it: plain base64, decoded straight from the body.
            if (!Base64.IsValid(raw, out var length))
            {
                throw NotBase64(parameter);
            }
            using var plain = upload.CreateFile(path, length);
            Decode(plain, raw, parameter);
            return;
        }

        // One pass to learn the file's size, so that its limits are checked before anything is written.
        var characters = 0L;
        var padding = 0;
        for (var at = 0; Next(raw, ref at, escaped, parameter) is var next and >= 0;)
        {
            characters++;
            padding = next == '=' ? padding + 1 : 0;
        }
        if (characters % 4 != 0 || padding > 2)
        {
            throw NotBase64(parameter);
        }
        using var file = upload.CreateFile(path, characters / 4 * 3 - padding);
        var text = ArrayPool<byte>.Shared.Rent(Chunk);
        try
        {
            var position = 0;
            var final = false;
            while (!final)
            {
                var filled = 0;
                while (filled < Chunk && Next(raw, ref position, escaped, parameter) is var next and >= 0)
                {
                    text[filled++] = (byte)next;
                }
                final = filled < Chunk;
                DecodePiece(file, text.AsSpan(0, filled), final, parameter);
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(text);
        }
    }

    // Decodes plain base64 a piece at a time.
    private static void Decode(ModelUploadFile file, ReadOnlySpan<byte> base64, string parameter)
    {
        do
        {
            var piece = base64.Length <= Chunk ? base64 : base64[..Chunk];
            base64 = base64[piece.Length..];
            DecodePiece(file, piece, base64.IsEmpty, parameter);
        }
        while (!base64.IsEmpty);
    }

    // One piece: whole 4-character groups, padding only in the final one.
    private static void DecodePiece(ModelUploadFile file, ReadOnlySpan<byte> piece, bool final, string parameter)
    {
        var rented = ArrayPool<byte>.Shared.Rent(Base64.GetMaxDecodedFromUtf8Length(Chunk));
        try
        {
            var status = Base64.DecodeFromUtf8(piece, rented, out var consumed, out var written, final);
            if (status == OperationStatus.InvalidData || consumed != piece.Length)
            {
                throw NotBase64(parameter);
            }
            file.Write(rented.AsSpan(0, written));
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(rented);
        }
    }

    // The next base64 character of the string (escapes undone, whitespace skipped), or -1 at its end. The reader has
    // already checked the escapes are well formed; one that yields no ASCII character cannot be base64.
    private static int Next(ReadOnlySpan<byte> raw, ref int at, bool escaped, string parameter)
    {
        while (at < raw.Length)
        {
            int c = raw[at++];
            if (escaped && c == '\\')
            {
                c = raw[at++];
                if (c == 'u')
                {
                    if (!Utf8Parser.TryParse(raw.Slice(at, 4), out ushort unit, out _, 'X') || unit >= 0x80)
                    {
                        throw NotBase64(parameter);
                    }
                    at += 4;
                    c = unit;
                }
                else
                {
                    c = c switch { 'n' => '\n', 'r' => '\r', 't' => '\t', 'b' => '\b', 'f' => '\f', _ => c };
                }
            }
            if (c is not (' ' or '\n' or '\r' or '\t'))
            {
                return c;
            }
        }
        return -1;
    }

    private static InferenceException NotBase64(string parameter) =>
        InferenceException.Invalid($"load parameter '{parameter}' must be a string holding the file's contents in base64");
}
