namespace InferenceServer.LibTorch;

/// <summary>LibTorch's error messages, shortened to what a client can act on.</summary>
internal static class TorchErrors
{
    /// <summary>
    /// LibTorch appends the C++ frames that raised an error ("Exception raised from ... frame #0 ...") and the TorchScript
    /// interpreter prefixes its own traceback; the reason is the last Python-style "SomethingError: ..." line when there is
    /// one, else the first line.
    /// </summary>
    public static string Reason(string message)
    {
        var cut = message.IndexOf("Exception raised from", StringComparison.Ordinal);
        var text = (cut >= 0 ? message[..cut] : message).Trim();
        var lines = text.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        for (var i = lines.Length - 1; i >= 0; i--)
        {
            var colon = lines[i].IndexOf("Error: ", StringComparison.Ordinal);
            if (colon > 0 && !lines[i][..colon].Contains(' ', StringComparison.Ordinal))
            {
                return lines[i];
            }
        }
        return lines.Length > 0 ? lines[0] : "no reason given";
    }
}
