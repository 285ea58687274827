namespace InferenceServer.Hosting;

/// <summary>
/// The server's own logging settings, bound from the <c>Logging</c> section beside .NET's (<c>Logging:LogLevel</c>,
/// <c>Logging:Console:FormatterName</c>): Triton's <c>--log-*</c> flags and the access log.
/// </summary>
internal sealed class ServerLogOptions
{
    /// <summary>The ISO 8601 value of <see cref="Format"/>.</summary>
    public const string Iso8601 = "ISO8601";

    /// <summary><c>--log-verbose</c>: 0 is off; 1 logs debug messages; 2 and above trace messages too.</summary>
    public int Verbose { get; set; }

    /// <summary><c>--log-info</c>: log info messages.</summary>
    public bool Info { get; set; } = true;

    /// <summary><c>--log-warning</c>: log warnings.</summary>
    public bool Warning { get; set; } = true;

    /// <summary><c>--log-error</c>: log errors (and critical failures).</summary>
    public bool Error { get; set; } = true;

    /// <summary><c>--log-format</c>: <c>default</c> or <c>ISO8601</c> timestamps.</summary>
    public string Format { get; set; } = "default";

    /// <summary><c>--log-file</c>: write the log to this file instead of the console; empty: the console.</summary>
    public string File { get; set; } = "";

    /// <summary><c>--log-access</c>: one info line per HTTP request and gRPC call (method, path, status, duration, request id).</summary>
    public bool AccessLog { get; set; }

    /// <summary>The timestamp format both console formatters (simple and json) use; always UTC.</summary>
    public string TimestampFormat => Format.Equals(Iso8601, StringComparison.OrdinalIgnoreCase) ? "yyyy-MM-ddTHH:mm:ss.fffZ" : "yyyy-MM-dd HH:mm:ss.fff";

    /// <summary>Throws <see cref="ArgumentException"/> naming a setting whose value is not valid.</summary>
    public void Validate()
    {
        if (!Format.Equals("default", StringComparison.OrdinalIgnoreCase) && !Format.Equals(Iso8601, StringComparison.OrdinalIgnoreCase))
        {
            throw new ArgumentException($"Logging:Format '{Format}' is not valid; expected default or {Iso8601}");
        }
        if (Verbose < 0)
        {
            throw new ArgumentException($"Logging:Verbose {Verbose} is not valid; expected 0 (off) or more");
        }
    }
}
