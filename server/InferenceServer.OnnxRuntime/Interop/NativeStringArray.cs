using System.Text;

namespace InferenceServer.OnnxRuntime.Interop;

/// <summary>
/// A fixed list of NUL-terminated UTF-8 strings and the <c>char**</c> table that points at them, in
/// one native block, so a run can hand names to ONNX Runtime without encoding anything.
/// </summary>
internal sealed unsafe class NativeStringArray : IDisposable
{
    private readonly NativeBlock _block;

    private NativeStringArray(NativeBlock block, int count)
    {
        _block = block;
        Count = count;
    }

    public int Count { get; }

    /// <summary>The pointer table; valid until disposed.</summary>
    public byte** Pointers => (byte**)_block.Pointer;

    public static NativeStringArray Create(IReadOnlyList<string> strings)
    {
        var tableBytes = (nuint)strings.Count * (nuint)sizeof(byte*);
        var total = tableBytes;
        for (var i = 0; i < strings.Count; i++)
        {
            total += (nuint)Encoding.UTF8.GetByteCount(strings[i]) + 1;
        }
        var block = NativeBlock.Allocate(total);
        var table = (byte**)block.Pointer;
        var text = (byte*)block.Pointer + tableBytes;
        for (var i = 0; i < strings.Count; i++)
        {
            var length = Encoding.UTF8.GetBytes(strings[i], new Span<byte>(text, (int)(total - (nuint)(text - (byte*)block.Pointer))));
            text[length] = 0;
            table[i] = text;
            text += length + 1;
        }
        return new NativeStringArray(block, strings.Count);
    }

    public void Dispose() => _block.Dispose();
}
