import Testing
@testable import NaviosWSCore

/// TLS through the engine's configuration: certificates as PEM text, what does not load, and
/// reloads. (Traffic over TLS is tested on the wire: Tests/Interop/test_tls.py.)
@Suite(.serialized) struct EngineTLSTests {
    /// A self-signed certificate for localhost, valid for a century: for these tests only.
    static let certificate = """
-----BEGIN CERTIFICATE-----
MIIBfjCCASSgAwIBAgITeucReuACENjmxu+Z26DGf87gxjAKBggqhkjOPQQDAjAU
MRIwEAYDVQQDDAlsb2NhbGhvc3QwIBcNMjYxMjA2MjE0NzE0WhgPMjEyNjExMTIy
MTQ3MTRaMBQxEjAQBgNVBAMMCWxvY2FsaG9zdDBZMBMGByqGSM49AgEGCCqGSM49
AwEHA0IABJlteE7bTJcc1CvmlwF3mHCCbYhqS1iHToT0jQ4Qf9PCPqagGnXyGyrP
a63pQEpslzJu5axLx51faQKqp5/7RkKjUzBRMB0GA1UdDgQWBBS1vAUvCltxaHUc
kp0+aIRAQ/tWdzAfBgNVHSMEGDAWgBS1vAUvCltxaHUckp0+aIRAQ/tWdzAPBgNV
HRMBAf8EBTADAQH/MAoGCCqGSM49BAMCA0gAMEUCIHRec5PGRSMb2rmLX9Npi0aZ
jccNzy+vPXo0qypPe8l3AiEAjSa7sA30fTvl4uhQds41tr6ufHKCg/QQG8qkaERO
Y04=
-----END CERTIFICATE-----
"""
    static let key = """
-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgzJhtSetB4RcE+ign
yGZiJKY3e83L5fufPLb3WC6GsvuhRANCAASZbXhO20yXHNQr5pcBd5hwgm2IaktY
h06E9I0OEH/Twj6moBp18hsqz2ut6UBKbJcybuWsS8edX2kCqqef+0ZC
-----END PRIVATE KEY-----
"""

    static var pem: WsEngineConfiguration.TLS {
        WsEngineConfiguration.TLS(certificates: [.init(.pem(chain: certificate, key: key))])
    }

    @Test func certificatesLoadFromPEMTextAndReload() async throws {
        let engine = try await startEngine(.epoll, RecordingHandler()) { $0.tls = Self.pem }
        try engine.reloadTLS(Self.pem)
        var broken = Self.pem
        broken.certificates = [.init(.pem(chain: Self.certificate, key: "not a key"))]
        #expect(throws: WsCoreError.invalidArgument) { try engine.reloadTLS(broken) }
        await stop(engine)
    }

    @Test func aCertificateThatDoesNotLoadRefusesTheEngine() {
        var configuration = WsEngineConfiguration()
        configuration.tls = .init(certificates: [.init(.files(chain: "/nonexistent/cert.pem", key: "/nonexistent/key.pem"))])
        #expect(throws: WsCoreError.invalidArgument) {
            _ = try WsEngine(configuration: configuration, handler: RecordingHandler())
        }
        var mismatched = WsEngineConfiguration()
        mismatched.tls = .init(certificates: [.init(.pem(chain: Self.certificate, key: Self.certificate))])
        #expect(throws: WsCoreError.invalidArgument) {
            _ = try WsEngine(configuration: mismatched, handler: RecordingHandler())
        }
    }

    @Test func anEngineWithoutTLSRefusesAReload() async throws {
        let engine = try await startEngine(.epoll, RecordingHandler())
        #expect(throws: WsCoreError.invalidArgument) { try engine.reloadTLS(Self.pem) }
        await stop(engine)
    }
}
