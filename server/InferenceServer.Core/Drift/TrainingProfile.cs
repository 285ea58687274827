using System.Text.Json;
using System.Text.Json.Serialization;

namespace InferenceServer.Core.Drift;

/// <summary>
/// What a model's inputs and outputs looked like on its training data: one <see cref="ProfiledFeature"/> per feature
/// and per prediction output. Written by <c>inference-server profile</c> as JSON beside the model
/// (<c>&lt;model&gt;/profile.json</c>, or <c>&lt;model&gt;/&lt;version&gt;/profile.json</c> for one version), read when a
/// version loads; live traffic and scored files are compared against it.
/// </summary>
public sealed class TrainingProfile
{
    /// <summary>The file name beside the model (or in a version folder, which wins).</summary>
    public const string FileName = "profile.json";

    /// <summary>The format this server writes and reads.</summary>
    public const string CurrentFormat = "inference-server-training-profile/1";

    /// <summary>Features are a feature view's raw fields.</summary>
    public const string ViewLevel = "feature_view";

    /// <summary>Features are the input tensors' columns (<c>input[column]</c>).</summary>
    public const string TensorLevel = "input_tensor";

    /// <summary>The format; <see cref="CurrentFormat"/>.</summary>
    [JsonPropertyName("format")]
    public string Format { get; set; } = CurrentFormat;

    /// <summary>The model profiled.</summary>
    [JsonPropertyName("model")]
    public string Model { get; set; } = "";

    /// <summary>The version whose predictions were profiled.</summary>
    [JsonPropertyName("version")]
    public string Version { get; set; } = "";

    /// <summary><see cref="ViewLevel"/> or <see cref="TensorLevel"/>.</summary>
    [JsonPropertyName("level")]
    public string Level { get; set; } = ViewLevel;

    /// <summary>The file (or files) the profile was built from.</summary>
    [JsonPropertyName("source")]
    public string Source { get; set; } = "";

    /// <summary>When it was built (UTC).</summary>
    [JsonPropertyName("created")]
    public DateTimeOffset Created { get; set; }

    /// <summary>The rows read.</summary>
    [JsonPropertyName("rows")]
    public long Rows { get; set; }

    /// <summary>The input features.</summary>
    [JsonPropertyName("features")]
    public List<ProfiledFeature> Features { get; set; } = [];

    /// <summary>The prediction outputs.</summary>
    [JsonPropertyName("predictions")]
    public List<ProfiledFeature> Predictions { get; set; } = [];

    /// <summary>Reads and checks a profile; throws <see cref="FormatException"/> naming the file and what is wrong with it.</summary>
    public static TrainingProfile Read(string path)
    {
        TrainingProfile? profile;
        try
        {
            using var stream = File.OpenRead(path);
            profile = JsonSerializer.Deserialize(stream, ProfileJsonContext.Default.TrainingProfile);
        }
        catch (JsonException e)
        {
            throw new FormatException($"training profile '{path}' is not valid JSON: {e.Message}", e);
        }
        if (profile is null)
        {
            throw new FormatException($"training profile '{path}' is empty; expected an object written by 'inference-server profile'");
        }
        if (profile.Format != CurrentFormat)
        {
            throw new FormatException($"training profile '{path}' has format '{profile.Format}'; expected '{CurrentFormat}'");
        }
        if (profile.Level is not (ViewLevel or TensorLevel))
        {
            throw new FormatException($"training profile '{path}' has level '{profile.Level}'; expected '{ViewLevel}' or '{TensorLevel}'");
        }
        foreach (var feature in profile.Features)
        {
            feature.Validate(path);
        }
        foreach (var prediction in profile.Predictions)
        {
            prediction.Validate(path);
        }
        return profile;
    }

    /// <summary>Writes the profile to <paramref name="path"/> atomically (a temporary file renamed over it).</summary>
    public void Write(string path)
    {
        var full = Path.GetFullPath(path);
        var temporary = full + ".tmp";
        using (var stream = File.Create(temporary))
        {
            JsonSerializer.Serialize(stream, this, ProfileJsonContext.Default.TrainingProfile);
        }
        File.Move(temporary, full, overwrite: true);
    }

    /// <summary>The profile a version loads: its own folder's, else its model folder's; null when there is none.</summary>
    public static string? Find(string modelPath, string versionPath)
    {
        var own = Path.Combine(versionPath, FileName);
        if (File.Exists(own))
        {
            return own;
        }
        var shared = Path.Combine(modelPath, FileName);
        return File.Exists(shared) ? shared : null;
    }
}
