namespace InferenceServer.Cli;

/// <summary>
/// One flag of <c>serve</c>: its name (Triton's spelling), the configuration key it sets, its default as <c>--help</c>
/// shows it (the value itself comes from <c>config/appsettings.json</c> and the options' defaults, so a flag that is not
/// given never overrides the environment or appsettings), and how its value is checked.
/// </summary>
internal sealed record ServeFlag(string Name, string Key, FlagKind Kind, string Default, string Help)
{
    /// <summary>Other names for the same flag (Triton's).</summary>
    public string[] Aliases { get; init; } = [];

    /// <summary>The value's name in the usage line, e.g. <c>N</c> or <c>PATH</c>.</summary>
    public string? HelpName { get; init; }

    /// <summary>The valid values of a <see cref="FlagKind.Choice"/>, in their canonical spelling.</summary>
    public string[] Values { get; init; } = [];

    /// <summary>True when the value <c>none</c> of a <see cref="FlagKind.Choice"/> means "not set" (an empty configuration value).</summary>
    public bool NoneIsEmpty { get; init; }

    /// <summary>The smallest valid <see cref="FlagKind.Integer"/> or <see cref="FlagKind.Number"/>.</summary>
    public long Min { get; init; }

    /// <summary>The largest valid <see cref="FlagKind.Integer"/>.</summary>
    public long Max { get; init; } = long.MaxValue;
}
