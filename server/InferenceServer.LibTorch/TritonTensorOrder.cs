using System.Globalization;
using InferenceServer.Core.Backends;

namespace InferenceServer.LibTorch;

/// <summary>
/// Where each config tensor sits in a TorchScript model's forward(): inputs are its arguments and outputs its results
/// (one tensor, or a tuple or list of them), both by position. As in Triton's pytorch backend, names of the form
/// <c>&lt;name&gt;__&lt;index&gt;</c> (<c>INPUT__0</c>, <c>OUTPUT__1</c>) give the position; otherwise the config's order does.
/// Triton also matches inputs to forward()'s argument names; TorchSharp does not expose those, so such configs are read
/// in order, which is the same whenever the config lists the arguments as forward() does.
/// </summary>
internal static class TritonTensorOrder
{
    /// <summary>
    /// The position of each tensor of <paramref name="tensors"/> (config order), or a load error naming the clash when
    /// the names mix the conventions or their indices do not number 0..n-1.
    /// </summary>
    public static int[] Positions(IReadOnlyList<TensorInfo> tensors, string role)
    {
        var positions = new int[tensors.Count];
        var indexed = 0;
        for (var i = 0; i < tensors.Count; i++)
        {
            positions[i] = IndexOf(tensors[i].Name);
            indexed += positions[i] >= 0 ? 1 : 0;
        }
        if (indexed == 0)
        {
            for (var i = 0; i < positions.Length; i++)
            {
                positions[i] = i;
            }
            return positions;
        }
        if (indexed != tensors.Count)
        {
            var plain = tensors.First(t => IndexOf(t.Name) < 0).Name;
            throw new BackendException(
                $"config {role} '{plain}' has no __<index> suffix while other {role}s have one; name every {role} <name>__<index> " +
                $"(its position in forward()'s {(role == "input" ? "arguments" : "results")}) or none of them (then the config's order is the position)",
                code: "INVALID_ARGUMENT");
        }
        var seen = new bool[tensors.Count];
        for (var i = 0; i < positions.Length; i++)
        {
            if (positions[i] >= tensors.Count || seen[positions[i]])
            {
                throw new BackendException(
                    $"config {role} '{tensors[i].Name}' has index {positions[i]}, but the {tensors.Count} {role}s' indices must number 0 to {tensors.Count - 1}, each once",
                    code: "INVALID_ARGUMENT");
            }
            seen[positions[i]] = true;
        }
        return positions;
    }

    // The index of a name <name>__<index>, or -1 when it has no such suffix.
    private static int IndexOf(string name)
    {
        var at = name.LastIndexOf("__", StringComparison.Ordinal);
        if (at <= 0 || at + 2 == name.Length)
        {
            return -1;
        }
        return int.TryParse(name.AsSpan(at + 2), NumberStyles.None, CultureInfo.InvariantCulture, out var index) ? index : -1;
    }
}
