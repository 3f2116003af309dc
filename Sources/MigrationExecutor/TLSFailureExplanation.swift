import CTLS
import Glibc

/// A failed TLS call in words an operator can act on: what went wrong with which certificate,
/// with OpenSSL's own text where livemig has none of its own.
enum TLSFailureExplanation {
    static func explain(_ outcome: ctls_outcome) -> String {
        let openSSLText = withUnsafeBytes(of: outcome.message) { String(cString: $0.bindMemory(to: CChar.self).baseAddress!) }
        switch outcome.status {
        case CTLS_CLOSED: return "the peer ended the TLS session"
        case CTLS_EOF: return "the peer closed the connection"
        case CTLS_WANT_READ, CTLS_WANT_WRITE: return String(cString: strerror(EAGAIN))
        case CTLS_SYSTEM_ERROR: return String(cString: strerror(outcome.system_error))
        default: break
        }
        switch outcome.reason {
        case CTLS_REASON_PEER_CERTIFICATE_UNKNOWN_ISSUER:
            return "the peer's certificate is not signed by this host's CA (\(verifyText(outcome)))"
        case CTLS_REASON_PEER_CERTIFICATE_REJECTED:
            return "the peer's certificate was refused: \(verifyText(outcome))"
        case CTLS_REASON_PEER_SENT_NO_CERTIFICATE:
            return "the peer presented no certificate"
        case CTLS_REASON_PEER_UNKNOWN_CA:
            return "the peer refused this host's certificate: it is not signed by the peer's CA (alert: unknown CA)"
        case CTLS_REASON_PEER_REQUIRES_CERTIFICATE:
            return "the peer requires a certificate and this host sent none"
        case CTLS_REASON_PEER_REJECTED_CERTIFICATE:
            return "the peer refused this host's certificate (\(openSSLText))"
        case CTLS_REASON_NOT_TLS:
            return "the peer did not answer with TLS (is TLS configured on both hosts?)"
        case CTLS_REASON_PROTOCOL_VERSION:
            return "the peer does not speak TLS 1.3 (\(openSSLText))"
        default:
            return openSSLText.isEmpty ? "TLS error" : openSSLText
        }
    }

    private static func verifyText(_ outcome: ctls_outcome) -> String {
        String(cString: ctls_verify_result_text(outcome.verify_result))
    }
}
