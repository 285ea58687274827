namespace InferenceServer.Core.Repository;

/// <summary>Where warm-up data comes from.</summary>
public enum WarmupDataSource
{
    /// <summary><c>zero_data</c>.</summary>
    Zero,
    /// <summary><c>random_data</c>.</summary>
    Random,
    /// <summary><c>input_data_file</c>.</summary>
    File,
}
