namespace InferenceServer.LoadTest.Cli;

/// <summary>A command-line flag: its name without dashes, its value's placeholder (null for a switch), its help, and whether it is per run.</summary>
internal sealed record Flag(string Name, string? Value, string Help, bool PerRun = true)
{
    public bool IsSwitch => Value is null;
}
