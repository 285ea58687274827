using System.Buffers;
using System.Text;

namespace InferenceServer.Core.Features;

/// <summary>
/// A store key pattern compiled into literal parts and entity-key slots: <c>income:{id}</c> is "income:" then key 0.
/// "{{" and "}}" are literal braces.
/// </summary>
internal sealed class StoreKeyPattern
{
    private readonly string[] _literals;
    private readonly int[] _slots;

    private StoreKeyPattern(string[] literals, int[] slots)
    {
        _literals = literals;
        _slots = slots;
    }

    /// <summary>Compiles <paramref name="pattern"/>; the error says what is wrong with it, or the pattern is returned.</summary>
    public static StoreKeyPattern? TryCompile(string pattern, IReadOnlyList<string> entityKeys, out string error)
    {
        // literals[i] comes before slots[i]; the last literal follows the last slot.
        var literals = new List<string>();
        var slots = new List<int>();
        var literal = new StringBuilder();
        for (var i = 0; i < pattern.Length; i++)
        {
            var c = pattern[i];
            if (c == '}')
            {
                if (i + 1 < pattern.Length && pattern[i + 1] == '}')
                {
                    literal.Append('}');
                    i++;
                    continue;
                }
                error = $"'}}' at character {i + 1} closes no placeholder; write '}}}}' for a literal brace";
                return null;
            }
            if (c != '{')
            {
                literal.Append(c);
                continue;
            }
            if (i + 1 < pattern.Length && pattern[i + 1] == '{')
            {
                literal.Append('{');
                i++;
                continue;
            }
            var end = pattern.IndexOf('}', i + 1);
            if (end < 0)
            {
                error = $"the placeholder at character {i + 1} is not closed with '}}'";
                return null;
            }
            var name = pattern[(i + 1)..end];
            var slot = IndexOf(entityKeys, name);
            if (slot < 0)
            {
                error = $"placeholder '{{{name}}}' names no entity key (the view's entity keys: {Names(entityKeys)})";
                return null;
            }
            literals.Add(literal.ToString());
            literal.Clear();
            slots.Add(slot);
            i = end;
        }
        literals.Add(literal.ToString());
        for (var k = 0; k < entityKeys.Count; k++)
        {
            if (!slots.Contains(k))
            {
                error = $"entity key '{entityKeys[k]}' appears nowhere in it: two entities that differ only in it would share a key; add '{{{entityKeys[k]}}}'";
                return null;
            }
        }
        error = "";
        return new StoreKeyPattern([.. literals], [.. slots]);
    }

    /// <summary>The key of the entity whose key values are <paramref name="values"/>, in entity-key order.</summary>
    public string Format(ReadOnlySpan<string> values)
    {
        var length = 0;
        foreach (var literal in _literals)
        {
            length += literal.Length;
        }
        foreach (var slot in _slots)
        {
            length += values[slot].Length;
        }
        char[]? rented = null;
        Span<char> buffer = length <= 256 ? stackalloc char[length] : (rented = ArrayPool<char>.Shared.Rent(length)).AsSpan(0, length);
        var at = 0;
        for (var i = 0; i < _slots.Length; i++)
        {
            _literals[i].CopyTo(buffer[at..]);
            at += _literals[i].Length;
            var value = values[_slots[i]];
            value.CopyTo(buffer[at..]);
            at += value.Length;
        }
        _literals[^1].CopyTo(buffer[at..]);
        var key = new string(buffer);
        if (rented is not null)
        {
            ArrayPool<char>.Shared.Return(rented);
        }
        return key;
    }

    private static int IndexOf(IReadOnlyList<string> names, string name)
    {
        for (var i = 0; i < names.Count; i++)
        {
            if (string.Equals(names[i], name, StringComparison.Ordinal))
            {
                return i;
            }
        }
        return -1;
    }

    private static string Names(IReadOnlyList<string> names) => names.Count == 0 ? "none" : string.Join(", ", names);
}
