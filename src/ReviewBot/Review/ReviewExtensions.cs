namespace ReviewBot.Review;

internal static class ReviewExtensions
{
    public static WebApplicationBuilder AddReviewEngine(this WebApplicationBuilder builder)
    {
        builder.Services.AddSingleton(new ReviewEngineOptions());
        builder.Services.AddSingleton<ReviewEngine>();
        return builder;
    }
}
