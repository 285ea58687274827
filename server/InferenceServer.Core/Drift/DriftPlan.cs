using InferenceServer.Core.Features;

namespace InferenceServer.Core.Drift;

/// <summary>A profile compiled for recording: one <see cref="DriftColumn"/> per profiled feature and per prediction output.</summary>
internal sealed class DriftPlan
{
    private DriftPlan(TrainingProfile profile, string profilePath, FeatureView? view, DriftColumn[] features, DriftColumn[] predictions)
    {
        View = view;
        Profile = profile;
        ProfilePath = profilePath;
        Features = features;
        Predictions = predictions;
    }

    /// <summary>The profile.</summary>
    public TrainingProfile Profile { get; }

    /// <summary>Where it was read from (named in reports).</summary>
    public string ProfilePath { get; }

    /// <summary>True when the features are a view's raw fields.</summary>
    public bool ViewLevel => Profile.Level == TrainingProfile.ViewLevel;

    /// <summary>The view whose raw rows a view-level plan reads (field indices are the view's); null at tensor level.</summary>
    public FeatureView? View { get; }

    /// <summary>The input features.</summary>
    public DriftColumn[] Features { get; }

    /// <summary>The prediction outputs.</summary>
    public DriftColumn[] Predictions { get; }

    /// <summary>
    /// Compiles <paramref name="profile"/>; a view-level profile needs the model's <paramref name="view"/>, and each of its
    /// features must be one of the view's raw fields. Throws <see cref="FormatException"/> naming what does not match.
    /// </summary>
    public static DriftPlan Compile(TrainingProfile profile, string profilePath, FeatureView? view)
    {
        var features = new DriftColumn[profile.Features.Count];
        for (var i = 0; i < features.Length; i++)
        {
            var feature = profile.Features[i];
            FeatureField? field = null;
            if (profile.Level == TrainingProfile.ViewLevel)
            {
                if (view is null)
                {
                    throw new FormatException($"training profile '{profilePath}' describes a feature view's fields, and model '{profile.Model}' has no {FeatureView.FileName}");
                }
                if (!view.TryGetField(feature.Name, out var index))
                {
                    throw new FormatException($"training profile '{profilePath}' has feature '{feature.Name}', which feature view '{view.Name}' does not declare");
                }
                field = view.Fields[index];
            }
            features[i] = new DriftColumn(feature, field);
        }
        var predictions = new DriftColumn[profile.Predictions.Count];
        for (var i = 0; i < predictions.Length; i++)
        {
            predictions[i] = new DriftColumn(profile.Predictions[i], null);
        }
        return new DriftPlan(profile, profilePath, profile.Level == TrainingProfile.ViewLevel ? view : null, features, predictions);
    }
}
