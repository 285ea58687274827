namespace InferenceServer.Cli;

/// <summary>How a <c>serve</c> flag's value is checked and turned into a configuration value.</summary>
internal enum FlagKind
{
    /// <summary>Any text (a path, a name).</summary>
    Text,

    /// <summary>Triton's booleans: true/on/1 or false/off/0, any case; the flag alone means true.</summary>
    Boolean,

    /// <summary>A whole number between <see cref="ServeFlag.Min"/> and <see cref="ServeFlag.Max"/>.</summary>
    Integer,

    /// <summary>A number (fractions allowed) of at least <see cref="ServeFlag.Min"/>.</summary>
    Number,

    /// <summary>One of <see cref="ServeFlag.Values"/>, any case.</summary>
    Choice,

    /// <summary>An IP address, or <c>localhost</c>.</summary>
    Address,

    /// <summary>Text, repeatable: each use adds one value.</summary>
    Repeated,

    /// <summary>Triton's <c>--log-verbose</c>: a level (0 is off), or a boolean (true is level 1).</summary>
    Verbosity,
}
