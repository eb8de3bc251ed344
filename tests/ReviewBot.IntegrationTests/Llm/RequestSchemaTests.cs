namespace ReviewBot.IntegrationTests.Llm;

// The schema checks of the client tests are only worth something if they can fail.
public sealed class RequestSchemaTests
{
    [Theory]
    [InlineData("""{"messages":[{"role":"user","content":"hi"}]}""")]
    [InlineData("""{"model":"m","messages":[{"role":"wizard","content":"hi"}]}""")]
    [InlineData("""{"model":"m","messages":[{"role":"user","content":"hi"}],"response_format":{"type":"json_schema"}}""")]
    public void OpenAi_chat_schema_rejects_bodies_the_api_would_reject(string body)
    {
        Assert.NotEmpty(RequestSchemas.ValidateOpenAiChat(body));
    }

    [Theory]
    [InlineData("""{"contents":[{"role":"user","parts":[{"text":"hi"}]}],"generationConfig":{"responseSchemaa":{}}}""")]
    [InlineData("""{"contents":[{"role":"user","parts":[{"text":"hi"}]}],"generationConfig":{"responseSchema":{"type":"OBJECT","additionalProperties":false}}}""")]
    public void Gemini_generate_schema_rejects_unknown_fields(string body)
    {
        Assert.NotEmpty(RequestSchemas.ValidateGeminiGenerate(body));
    }
}
